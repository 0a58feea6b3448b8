/// Where a round is in its life: planned → simulating → training → validating → done,
/// or failed from any state that is not finished. Nothing leaves done or failed.
public enum RoundStatus: String, Sendable, CaseIterable, Codable {
    case planned, simulating, training, validating, done, failed

    public var isFinished: Bool { self == .done || self == .failed }

    /// The state that follows on success, nil once finished.
    public var next: RoundStatus? {
        switch self {
        case .planned: return .simulating
        case .simulating: return .training
        case .training: return .validating
        case .validating: return .done
        case .done, .failed: return nil
        }
    }

    public func canAdvance(to target: RoundStatus) -> Bool {
        if isFinished { return false }
        return target == .failed || target == next
    }
}
