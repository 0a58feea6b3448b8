import Foundation
import ILINets
import RealModule

/// The posterior of NPE: the ensemble q(θ | x) restricted to the prior's support.
///
/// Samples are drawn directly and those outside the support rejected. The density is
/// renormalised by the probability mass inside the support (the "leakage" correction),
/// estimated by Monte Carlo once per observation.
///
/// ```swift
/// let posterior = DirectPosterior(prior: prior, ensemble: ensemble)
/// let draws = try posterior.sample(10_000, observations: Matrix([[0.1, -0.2]]), rng: &rng)
/// let best = try posterior.map(observation: [0.1, -0.2], rng: &rng)
/// ```
public final class DirectPosterior: Posterior {
    public let prior: any Prior
    public let ensemble: DensityEnsemble
    /// Draws per observation used to estimate the in-support mass.
    public var leakageSampleCount = 10_000
    /// Stop with an error when this many draws per requested sample gave too few accepted.
    public var maxDrawsPerSample = 1_000
    /// Rows drawn in one call of the ensemble, across observations.
    public var maxRowsPerCall = 20_000
    /// Where warnings go (low acceptance); standard error by default.
    public var warn: (String) -> Void = { FileHandle.standardError.write(Data(("warning: " + $0 + "\n").utf8)) }

    private var acceptanceCache: [[Double]: Double] = [:]
    private let cacheLock = NSLock()

    public init(prior: any Prior, ensemble: DensityEnsemble) {
        precondition(prior.dimension == ensemble.featureCount,
                     "a \(prior.dimension)-parameter prior with an estimator of \(ensemble.featureCount) features")
        self.prior = prior
        self.ensemble = ensemble
    }

    public var thetaDimension: Int { prior.dimension }
    public var xDimension: Int { ensemble.contextCount }
    public var logProbIsNormalized: Bool { true }

    public func sample(_ count: Int, observations: Matrix<Double>, rng: inout RandomSource) throws -> Matrix<Double> {
        try checkObservations(observations)
        let k = observations.rows, d = thetaDimension
        var accepted = [[Double]](repeating: [], count: k)   // row-major per observation
        var drawn = [Int](repeating: 0, count: k)
        var warned = false
        let bounds = prior.supportBounds
        let budget = max(count, 1) * maxDrawsPerSample
        while true {
            let pending = (0..<k).filter { accepted[$0].count < count * d }
            if pending.isEmpty { break }
            // Ask each pending observation for what it still needs, inflated by its acceptance so far.
            var batch = 0
            for i in pending {
                let need = count - accepted[i].count / d
                let rate = drawn[i] == 0 ? 1.0 : max(Double(accepted[i].count / d) / Double(drawn[i]), 1e-3)
                batch = max(batch, Int(Double(need) / rate * 1.1) + 16)
            }
            // Bound the rows of one network call, which sets the memory a draw needs.
            batch = min(batch, max(maxRowsPerCall / pending.count, 64))
            let context = observations.rows(at: pending).converted(to: Float.self)
            let draws = ensemble.sample(batch, context: context, rng: &rng)
            for (slot, i) in pending.enumerated() {
                drawn[i] += batch
                for r in 0..<batch where accepted[i].count < count * d {
                    let row = slot * batch + r
                    var inside = true
                    for j in 0..<d where !bounds[j].contains(Double(draws[row, j])) { inside = false; break }
                    if inside { for j in 0..<d { accepted[i].append(Double(draws[row, j])) } }
                }
                let rate = Double(accepted[i].count / d) / Double(drawn[i])
                if !warned && drawn[i] >= 1000 && rate < 0.01 {
                    warned = true
                    warn(String(format: "only %.2f%% of posterior draws fall inside the prior's support for observation %d; sampling is slow and the posterior may be poor there", rate * 100, i))
                }
                if accepted[i].count < count * d && drawn[i] >= budget {
                    throw PosteriorError(.samplingFailed, "after \(drawn[i]) draws only \(accepted[i].count / d) of \(count) samples for observation \(i) fell inside the prior's support (acceptance \(String(format: "%.3g", rate))); the observation is probably outside what the simulations cover")
                }
            }
        }
        return Matrix(rows: k * count, cols: d, accepted.flatMap { $0 })
    }

    public func logProb(_ theta: Matrix<Double>, observations: Matrix<Double>) throws -> [Double] {
        try checkPairs(theta, observations)
        let raw = ensemble.logProb(theta.converted(to: Float.self), context: observations.converted(to: Float.self))
        let inside = prior.contains(theta)
        var result = [Double](repeating: -.infinity, count: theta.rows)
        for i in 0..<theta.rows where inside[i] {
            result[i] = raw[i] - Double.log(try acceptance(of: observations.row(i)))
        }
        return result
    }

    /// The ensemble's probability mass inside the prior's support at `observation`.
    public func acceptance(of observation: [Double]) throws -> Double {
        cacheLock.lock()
        if let cached = acceptanceCache[observation] { cacheLock.unlock(); return cached }
        cacheLock.unlock()
        // A fixed seed per observation keeps logProb a deterministic function.
        var rng = RandomSource(seed: UInt64(truncatingIfNeeded: observation.map { $0.bitPattern }.reduce(1469598103934665603) { ($0 ^ $1) &* 1099511628211 }))
        let draws = ensemble.sample(leakageSampleCount, context: Matrix(rows: 1, cols: observation.count, observation.map(Float.init)), rng: &rng)
        let inside = prior.contains(draws.converted(to: Double.self)).filter { $0 }.count
        // At least one accepted draw, so that the correction stays finite.
        let rate = Double(max(inside, 1)) / Double(leakageSampleCount)
        cacheLock.lock(); acceptanceCache[observation] = rate; cacheLock.unlock()
        return rate
    }

    /// The maximum a posteriori θ at one observation: the best of `candidates` posterior
    /// draws, refined by gradient ascent on the log-density and kept inside the support.
    public func map(observation: [Double], candidates: Int = 1000, steps: Int = 300,
                    rng: inout RandomSource) throws -> [Double] {
        let x = Matrix(rows: 1, cols: observation.count, observation)
        try checkObservations(x)
        let draws = try sample(candidates, observations: x, rng: &rng)
        let repeated = Matrix(rows: candidates, cols: x.cols) { _, j in observation[j] }
        let lp = try logProb(draws, observations: repeated)
        let starts = Array(lp.indices.sorted { lp[$0] > lp[$1] }.prefix(10))
        let bounds = prior.supportBounds
        var best: (theta: [Double], value: Double) = (draws.row(starts[0]), lp[starts[0]])
        let context = Matrix(rows: starts.count, cols: x.cols) { _, j in Float(observation[j]) }
        let theta = Parameter<Float>(draws.rows(at: starts).converted(to: Float.self))
        var adam = Adam(parameters: [theta], learningRate: 0.01)
        for _ in 0..<steps {
            let tape = Tape<Float>()
            let y = tape.read(theta)
            let score = ensemble.logProb(y, context: tape.constant(context)).sum()
            tape.backward(from: -score)
            adam.step()
            for i in 0..<starts.count {
                for j in 0..<thetaDimension {
                    // Stay strictly inside a bounded support.
                    let lo = bounds[j].lower, hi = bounds[j].upper
                    let v = Double(theta.value[i, j])
                    let margin = (hi - lo).isFinite ? (hi - lo) * 1e-6 : 0
                    theta.value[i, j] = Float(Swift.min(Swift.max(v, lo + margin), hi - margin))
                }
            }
        }
        let refined = theta.value.converted(to: Double.self)
        let refinedLP = try logProb(refined, observations: Matrix(rows: starts.count, cols: x.cols) { _, j in observation[j] })
        for i in 0..<starts.count where refinedLP[i] > best.value { best = (refined.row(i), refinedLP[i]) }
        return best.theta
    }
}
