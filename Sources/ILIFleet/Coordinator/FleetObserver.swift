/// What a coordinator's I/O thread reports: workers coming and going, refused messages.
/// Calls come from that thread; an observer that keeps state must guard it.
public protocol FleetObserver: AnyObject, Sendable {
    func workerJoined(_ worker: CoordinatorStateMachine.WorkerSummary)
    func workerLeft(_ worker: CoordinatorStateMachine.WorkerSummary, reason: String)
    /// A message from `peer` was refused with `error` (and answered with it).
    func rejected(peer: PeerID, worker: String?, error: FleetProtocolError)
    /// The transport failed; the coordinator stops serving.
    func transportFailed(_ error: any Error)
}

extension FleetObserver {
    public func workerJoined(_ worker: CoordinatorStateMachine.WorkerSummary) {}
    public func workerLeft(_ worker: CoordinatorStateMachine.WorkerSummary, reason: String) {}
    public func rejected(peer: PeerID, worker: String?, error: FleetProtocolError) {}
    public func transportFailed(_ error: any Error) {}
}

/// A coordinator's state for a status line.
public struct FleetStatus: Sendable, Equatable {
    public var workers: [FleetWorkerKind: Int]
    public var inFlightTasks: Int
    public var outstandingTasks: Int
    /// Outcomes committed since the coordinator started.
    public var committed: Int
    public var counters: CoordinatorStateMachine.Counters
    /// Simulators that have joined since the start (dispatch may wait for enough of them).
    public var simulatorsJoined = 0
}
