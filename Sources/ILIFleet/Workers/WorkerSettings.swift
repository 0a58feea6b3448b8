/// How a worker keeps its connection to the coordinator.
public struct WorkerSettings: Sendable, Equatable {
    /// Heartbeat period until the coordinator's welcome gives its own.
    public var heartbeatInterval: Double = 1
    /// A coordinator silent this long (before its welcome gives its own) is taken for gone.
    public var silenceTimeout: Double = 10
    /// Hello is repeated this often until a welcome comes.
    public var helloInterval: Double = 1
    /// Reconnection waits start here and double up to `maxBackoff`.
    public var initialBackoff: Double = 0.1
    public var maxBackoff: Double = 5

    public init() {}
}

/// What a worker's connection goes through, for its log lines.
public enum WorkerEvent: Sendable {
    case welcomed(Welcome)
    /// The coordinator went silent (or refused us); a new connection follows after `delay`.
    case reconnecting(reason: String, delay: Double)
    /// The coordinator refused a message of ours.
    case refused(FleetError)
    /// A task batch could not be simulated at all (each of its tasks is reported failed).
    case batchFailed(batch: String, reason: String)
    case jobStarted(job: Int64, round: Int, experiment: String)
    case jobFinished(job: Int64, modelVersion: Int64?, reason: String?)
    case shutdown(reason: String)
}
