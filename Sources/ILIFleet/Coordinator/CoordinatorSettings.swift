/// How a coordinator dispatches work and decides that a worker is gone.
public struct CoordinatorSettings: Sendable, Equatable {
    /// θ rows per task message.
    public var batchSize = 100
    /// The most task batches one worker may hold, whatever credit it asks for.
    public var maxCredit = 8
    /// Seconds a batch may be out before it is given to another worker.
    public var taskTimeout: Double = 600
    /// Each side sends something at least this often.
    public var heartbeatInterval: Double = 1
    /// A worker silent this long is taken for gone, and its batches go to others.
    public var workerTimeout: Double = 10
    /// A task handed out this many times without a result is recorded as failed.
    public var maxAttempts = 3
    /// What a producer is told to wait before resending pairs that were not accepted.
    public var retryAfter: Double = 1
    public var limits = FleetLimits()
    /// Tasks wait until this many simulators have joined (once: one that leaves later does
    /// not stop dispatch), so that a fleet started together shares the first round instead
    /// of the first worker in taking every batch.
    public var simulatorsBeforeDispatch = 1

    public init() {}
}

/// What every worker is told about the experiment when it says hello.
public struct ExperimentInfo: Sendable, Equatable {
    public var name: String
    public var thetaDim: Int
    public var xShape: [Int]
    /// The prior as JSON (`PriorSpecification`), for producers.
    public var prior: String?

    public init(name: String, thetaDim: Int, xShape: [Int], prior: String?) {
        self.name = name
        self.thetaDim = thetaDim
        self.xShape = xShape
        self.prior = prior
    }

    public var xCount: Int { xShape.reduce(1, *) }
}
