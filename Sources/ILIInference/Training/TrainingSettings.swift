/// How a network is trained; the defaults are sbi's.
public struct TrainingSettings: Codable, Sendable, Equatable {
    public var batchSize = 200
    public var learningRate = 5e-4
    /// The share of simulations held out to decide when to stop.
    public var validationFraction = 0.1
    /// Stop after this many epochs without a better validation loss, and restore the best state.
    public var stopAfterEpochs = 20
    /// An upper bound on epochs, or `nil` for none.
    public var maxEpochs: Int?
    /// Clip the global gradient norm to this (`nil`: no clipping).
    public var clipMaxNorm: Double? = 5
    /// Train ensemble members in parallel threads, which share `RowParallelism.width`.
    public var parallelMembers = true

    public init() {}
}
