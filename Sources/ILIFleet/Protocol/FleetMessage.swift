/// The messages of the fleet protocol (`schemas/fleet-protocol.md`): what workers and the
/// coordinator say to each other, as typed values. `FleetCodec` turns them into frames.
public enum FleetMessage: Sendable, Equatable {
    case hello(Hello)
    case welcome(Welcome)
    case task(TaskBatch)
    case result(ResultBatch)
    case pairs(PairBatch)
    case ack(Ack)
    case heartbeat(Heartbeat)
    case job(JobOffer)
    case jobDone(JobDone)
    case error(FleetError)
    case shutdown(Shutdown)

    public var type: FleetMessageType {
        switch self {
        case .hello: return .hello
        case .welcome: return .welcome
        case .task: return .task
        case .result: return .result
        case .pairs: return .pairs
        case .ack: return .ack
        case .heartbeat: return .heartbeat
        case .job: return .job
        case .jobDone: return .jobDone
        case .error: return .error
        case .shutdown: return .shutdown
        }
    }
}

/// The message type, as its frame spells it.
public enum FleetMessageType: String, Sendable, CaseIterable {
    case hello, welcome, task, result, pairs, ack, heartbeat, job
    case jobDone = "job-done"
    case error, shutdown
}

/// What a worker does.
public enum FleetWorkerKind: String, Sendable, Codable, CaseIterable {
    /// Simulates the θ batches it is sent.
    case simulator
    /// Draws θ itself and streams (θ, x) pairs in.
    case producer
    /// Claims training jobs from the registry.
    case trainer
}

/// Worker → coordinator, first: who it is and how many task batches it may hold at once.
public struct Hello: Sendable, Equatable, Codable {
    public var worker: String
    public var kind: FleetWorkerKind
    /// Task batches the worker may hold at once (simulators; at least 1).
    public var credit: Int
    /// Free-form facts for status lines and logs (`simulator`, `language`, `host`).
    public var capabilities: [String: String]

    public init(worker: String, kind: FleetWorkerKind, credit: Int, capabilities: [String: String] = [:]) {
        self.worker = worker
        self.kind = kind
        self.credit = credit
        self.capabilities = capabilities
    }
}

/// Coordinator → worker, in answer to hello: the experiment's shapes and the timing rules.
public struct Welcome: Sendable, Equatable, Codable {
    public var experiment: String
    public var thetaDim: Int
    public var xShape: [Int]
    /// Both sides send something at least this often (milliseconds).
    public var heartbeatMs: Int
    /// A side silent for this long is taken for gone.
    public var timeoutMs: Int
    /// The largest message the coordinator reads.
    public var maxMessageBytes: Int
    /// The experiment's prior (a `PriorSpecification` as JSON), for producers that draw θ.
    public var prior: String?

    public init(experiment: String, thetaDim: Int, xShape: [Int], heartbeatMs: Int, timeoutMs: Int, maxMessageBytes: Int, prior: String?) {
        self.experiment = experiment
        self.thetaDim = thetaDim
        self.xShape = xShape
        self.heartbeatMs = heartbeatMs
        self.timeoutMs = timeoutMs
        self.maxMessageBytes = maxMessageBytes
        self.prior = prior
    }
}

/// Coordinator → simulator: simulate these θ rows (array `theta`, rows × θ width, float64).
public struct TaskBatch: Sendable, Equatable {
    public var batch: String
    public var experiment: String
    public var round: Int
    public var taskIds: [String]
    /// One seed per row, for simulators that take one.
    public var seeds: [UInt64]
    /// Values in one x.
    public var xCount: Int
    public var theta: FleetArray

    public init(batch: String, experiment: String, round: Int, taskIds: [String], seeds: [UInt64], xCount: Int, theta: FleetArray) {
        self.batch = batch
        self.experiment = experiment
        self.round = round
        self.taskIds = taskIds
        self.seeds = seeds
        self.xCount = xCount
        self.theta = theta
    }
}

/// Simulator → coordinator: x for each task of a batch (array `x`, rows × x width), with a
/// status per row: nil for a simulation that ran, or why it failed (its x row is ignored).
public struct ResultBatch: Sendable, Equatable {
    public var batch: String
    public var taskIds: [String]
    public var failures: [String?]
    public var x: FleetArray

    public init(batch: String, taskIds: [String], failures: [String?], x: FleetArray) {
        self.batch = batch
        self.taskIds = taskIds
        self.failures = failures
        self.x = x
    }
}

/// Producer → coordinator: pairs it drew and simulated itself, under task ids it made unique.
public struct PairBatch: Sendable, Equatable {
    public var batch: String
    public var taskIds: [String]
    public var theta: FleetArray
    public var x: FleetArray

    public init(batch: String, taskIds: [String], theta: FleetArray, x: FleetArray) {
        self.batch = batch
        self.taskIds = taskIds
        self.theta = theta
        self.x = x
    }
}

/// Coordinator → worker: the rows of `batch` are committed to the registry (`accepted`
/// new ones, `duplicates` already there or already delivered by another worker).
public struct Ack: Sendable, Equatable, Codable {
    public var batch: String
    public var accepted: Int
    public var duplicates: Int

    public init(batch: String, accepted: Int, duplicates: Int) {
        self.batch = batch
        self.accepted = accepted
        self.duplicates = duplicates
    }
}

/// Either way: I am alive.
public struct Heartbeat: Sendable, Equatable, Codable {
    public init() {}
}

/// Coordinator → trainer: round `round` of `experiment` has training jobs to claim.
public struct JobOffer: Sendable, Equatable, Codable {
    public var experiment: String
    public var round: Int
    public var roundId: Int64
    public var jobs: [Int64]

    public init(experiment: String, round: Int, roundId: Int64, jobs: [Int64]) {
        self.experiment = experiment
        self.round = round
        self.roundId = roundId
        self.jobs = jobs
    }
}

/// Trainer → coordinator: a job it claimed is finished (`modelVersion`) or failed (`reason`).
public struct JobDone: Sendable, Equatable, Codable {
    public var job: Int64
    public var modelVersion: Int64?
    public var reason: String?

    public init(job: Int64, modelVersion: Int64?, reason: String?) {
        self.job = job
        self.modelVersion = modelVersion
        self.reason = reason
    }
}

/// Either way: what was wrong with a message (or why a worker is refused).
public struct FleetError: Sendable, Equatable, Codable {
    public var code: FleetErrorCode
    public var message: String
    /// The batch the error is about, when it is about one.
    public var batch: String?
    /// For `notAccepting`: when to try again.
    public var retryAfterMs: Int?

    public init(code: FleetErrorCode, message: String, batch: String? = nil, retryAfterMs: Int? = nil) {
        self.code = code
        self.message = message
        self.batch = batch
        self.retryAfterMs = retryAfterMs
    }
}

/// Every kind of refusal, as the `code` field spells it.
public enum FleetErrorCode: String, Sendable, Codable, CaseIterable {
    /// Frames that are not this protocol: too few, a wrong tag, a header that is not JSON.
    case malformed
    /// The right tag with a version this coordinator does not speak.
    case version
    /// A message type that does not exist, or that this side does not take.
    case unknownType = "unknown-type"
    /// Larger than the limits (message, header or array).
    case tooLarge = "too-large"
    /// An array whose shape, dtype or byte count is wrong for the message or the experiment.
    case shape
    /// Values that cannot be stored (NaN or ±∞ in θ).
    case invalidValue = "invalid-value"
    /// A message from a peer that has not said hello (or was forgotten): say hello again.
    case unknownWorker = "unknown-worker"
    /// Unsolicited pairs while no round draws θ from the prior: keep them, retry later.
    case notAccepting = "not-accepting"
}

/// Coordinator → workers: the experiment is over (or the coordinator is stopping).
public struct Shutdown: Sendable, Equatable, Codable {
    public var reason: String

    public init(reason: String) { self.reason = reason }
}
