/// Receives what training does, member by member; the library itself never prints.
///
/// Every method has a default that does nothing. Calls come from the threads the members
/// train on, so an observer that keeps state must guard it.
public protocol TrainingObserver: Sendable {
    /// Before any member trains: the members' labels and the split every member shares.
    func trainingStarted(members: [String], trainingCount: Int, validationCount: Int, droppedRows: Int)
    /// After each epoch of member `member`. Throwing (e.g. `TrainingCancelled`) stops that
    /// member's training, and the error reaches whoever started it.
    func epochFinished(member: Int, label: String, _ report: EpochReport) throws
    /// After member `member` stopped and its best parameters were restored.
    func memberFinished(member: Int, label: String, _ summary: TrainingSummary)
}

extension TrainingObserver {
    public func trainingStarted(members: [String], trainingCount: Int, validationCount: Int, droppedRows: Int) {}
    public func epochFinished(member: Int, label: String, _ report: EpochReport) throws {}
    public func memberFinished(member: Int, label: String, _ summary: TrainingSummary) {}
}

/// Thrown from an observer's `epochFinished` to stop training (a worker that lost its job,
/// a run being interrupted).
public struct TrainingCancelled: Error, CustomStringConvertible, Sendable {
    public var reason: String
    public init(_ reason: String = "training was cancelled") { self.reason = reason }
    public var description: String { reason }
}
