import Dispatch

/// Where a sampler is, for a progress line.
///
/// ```swift
/// let run = try runMCMC(settings, target: f, initial: starts, groups: 1, count: 1000, rng: &rng) { p in
///     print("\(p.phase) \(p.step)/\(p.totalSteps) \(p.elapsedSeconds)s")
/// }
/// ```
public struct SamplerProgress: Sendable {
    public enum Phase: String, Sendable {
        /// MCMC steps that are discarded (and tune the slice sampler).
        case warmup
        /// MCMC steps whose states are kept.
        case sampling
        /// Importance resampling: `step` counts finished draws.
        case resampling
    }

    public var phase: Phase
    public var step: Int
    public var totalSteps: Int
    public var elapsedSeconds: Double

    public init(phase: Phase, step: Int, totalSteps: Int, elapsedSeconds: Double) {
        self.phase = phase
        self.step = step
        self.totalSteps = totalSteps
        self.elapsedSeconds = elapsedSeconds
    }
}

/// Passes progress on at most every `interval` seconds and at the last step, so that a
/// callback that prints costs nothing next to sampling.
struct ProgressThrottle {
    let callback: ((SamplerProgress) -> Void)?
    let interval: Double
    /// Seconds on a monotonic clock; tests pass a clock they advance themselves.
    private let clock: () -> Double
    private let start: Double
    private var lastReport = 0.0

    init(_ callback: ((SamplerProgress) -> Void)?, interval: Double = 0.2,
         clock: @escaping () -> Double = { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }) {
        self.callback = callback
        self.interval = interval
        self.clock = clock
        start = clock()
    }

    var elapsedSeconds: Double { clock() - start }

    mutating func report(_ phase: SamplerProgress.Phase, step: Int, of total: Int) {
        guard let callback else { return }
        let now = elapsedSeconds
        guard step >= total || now - lastReport >= interval else { return }
        lastReport = now
        callback(SamplerProgress(phase: phase, step: step, totalSteps: total, elapsedSeconds: now))
    }
}
