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
    /// The most draws per observation used to estimate the in-support mass.
    public var leakageSampleCount = 10_000
    /// Stop estimating the in-support mass once its relative standard error is below this.
    public var leakageRelativeError = 0.005
    /// Stop with an error when this many draws per requested sample gave too few accepted.
    public var maxDrawsPerSample = 1_000
    /// Rows given to the ensemble in one call, across observations, when drawing and when
    /// evaluating log-densities. Blocks of a few thousand rows keep each layer's output in
    /// cache and reuse the same freed buffers: validating 200 test points × 1,000 samples of
    /// a three-member MAF + NSF posterior took 7.8 s of CPU time and 118 MB with 4,096 rows,
    /// 9.9 s and 410 MB with 20,000.
    public var maxRowsPerCall = 4096
    /// Receives warnings (low acceptance); the library prints nothing itself, so a program shows
    /// them to its users as it sees fit.
    public var warn: ((String) -> Void)?

    private var acceptanceCache: [[Double]: Double] = [:]
    /// Draws `sample` made at observations whose in-support mass is not yet estimated:
    /// how many fell inside the support, of how many. The estimate starts from them.
    private var supportEvidence: [[Double]: (inside: Int, drawn: Int)] = [:]
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
        var inSupport = [Int](repeating: 0, count: k)   // of all drawn, also past the count
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
                for r in 0..<batch {
                    let row = slot * batch + r
                    var inside = true
                    for j in 0..<d where !bounds[j].contains(Double(draws[row, j])) { inside = false; break }
                    guard inside else { continue }
                    inSupport[i] += 1
                    if accepted[i].count < count * d { for j in 0..<d { accepted[i].append(Double(draws[row, j])) } }
                }
                let rate = Double(accepted[i].count / d) / Double(drawn[i])
                if !warned && drawn[i] >= 1000 && rate < 0.01 {
                    warned = true
                    warn?(String(format: "only %.2f%% of posterior draws fall inside the prior's support for observation %d; sampling is slow and the posterior may be poor there", rate * 100, i))
                }
                if accepted[i].count < count * d && drawn[i] >= budget {
                    throw PosteriorError(.samplingFailed, "after \(drawn[i]) draws only \(accepted[i].count / d) of \(count) samples for observation \(i) fell inside the prior's support (acceptance \(String(format: "%.3g", rate))); the observation is probably outside what the simulations cover")
                }
            }
        }
        recordSupportEvidence(observations, inside: inSupport, drawn: drawn)
        return Matrix(rows: k * count, cols: d, accepted.flatMap { $0 })
    }

    /// log q(θᵢ | xᵢ) renormalised by the in-support mass at xᵢ, −∞ outside the support.
    /// Rows go to the ensemble `maxRowsPerCall` at a time: the memory a call needs grows
    /// with its rows (every layer's output is a rows × width matrix), and blocks of equal
    /// size reuse the allocator's freed buffers instead of faulting in fresh pages.
    public func logProb(_ theta: Matrix<Double>, observations: Matrix<Double>) throws -> [Double] {
        try checkPairs(theta, observations)
        let inside = prior.contains(theta)
        let rates = acceptances(of: observations)
        var raw: [Double] = []
        raw.reserveCapacity(theta.rows)
        let step = max(maxRowsPerCall, 1)
        for start in stride(from: 0, to: theta.rows, by: step) {
            let end = min(start + step, theta.rows)
            let whole = start == 0 && end == theta.rows
            let rows = Array(start..<end)
            raw += ensemble.logProb((whole ? theta : theta.rows(at: rows)).converted(to: Float.self),
                                    context: (whole ? observations : observations.rows(at: rows)).converted(to: Float.self))
        }
        return (0..<theta.rows).map { i in inside[i] ? raw[i] - Double.log(rates[i]) : -.infinity }
    }

    /// The ensemble's probability mass inside the prior's support at `observation`.
    public func acceptance(of observation: [Double]) throws -> Double {
        let x = Matrix(rows: 1, cols: observation.count, observation)
        try checkObservations(x)
        return acceptances(of: x)[0]
    }

    /// The in-support mass at each observation row, estimated once per distinct observation
    /// and cached. All uncached observations are estimated together, in batched network
    /// calls, and each stops drawing once its estimate's relative standard error is below
    /// `leakageRelativeError` (or at `leakageSampleCount` draws): a posterior that rarely
    /// leaks costs 1,000 draws per observation, not 10,000. The draws `sample` made at an
    /// observation since count towards its estimate, so log-densities at observations just
    /// sampled (validation) need few new draws or none. Priors without bounds need none.
    func acceptances(of observations: Matrix<Double>) -> [Double] {
        if prior.supportBounds.allSatisfy({ !$0.isBounded }) {
            return Array(repeating: 1, count: observations.rows)
        }
        cacheLock.lock()
        var pending: [[Double]] = []
        var seen = Set<[Double]>()
        for i in 0..<observations.rows {
            let row = observations.row(i)
            if acceptanceCache[row] == nil && seen.insert(row).inserted { pending.append(row) }
        }
        cacheLock.unlock()
        if !pending.isEmpty {
            let estimated = estimateAcceptances(pending)
            cacheLock.lock()
            for (row, rate) in zip(pending, estimated) { acceptanceCache[row] = rate }
            cacheLock.unlock()
        }
        cacheLock.lock(); defer { cacheLock.unlock() }
        return (0..<observations.rows).map { acceptanceCache[observations.row($0)]! }
    }

    /// Adds the draws of a `sample` call to the evidence of observations not yet estimated
    /// (rejection sampling is itself a Monte Carlo estimate of the in-support mass, paid for).
    private func recordSupportEvidence(_ observations: Matrix<Double>, inside: [Int], drawn: [Int]) {
        guard prior.supportBounds.contains(where: \.isBounded) else { return }
        cacheLock.lock()
        defer { cacheLock.unlock() }
        for i in 0..<observations.rows where drawn[i] > 0 {
            let row = observations.row(i)
            guard acceptanceCache[row] == nil else { continue }
            let old = supportEvidence[row] ?? (0, 0)
            supportEvidence[row] = (old.inside + inside[i], old.drawn + drawn[i])
        }
    }

    /// Draws 1,000 at a time per observation, after any evidence `sample` left, until the
    /// relative standard error is small enough (see `acceptances(of:)`).
    private func estimateAcceptances(_ rows: [[Double]]) -> [Double] {
        let stage = 1000
        // Seeded by the observations themselves, so the same question gets the same answer
        // (given the same draws of `sample` before it).
        var seed: UInt64 = 1_469_598_103_934_665_603
        for row in rows { for v in row { seed = (seed ^ v.bitPattern) &* 1_099_511_628_211 } }
        var rng = RandomSource(seed: seed)
        cacheLock.lock()
        let evidence = rows.map { supportEvidence.removeValue(forKey: $0) ?? (0, 0) }
        cacheLock.unlock()
        var inside = evidence.map(\.inside)
        var drawn = evidence.map(\.drawn)
        func needsMore(_ k: Int) -> Bool {
            guard drawn[k] >= stage else { return true }
            guard drawn[k] < leakageSampleCount else { return false }
            let p = Double(inside[k]) / Double(drawn[k])
            guard p > 0 else { return true }
            return ((1 - p) / (p * Double(drawn[k]))).squareRoot() > leakageRelativeError
        }
        var active = rows.indices.filter(needsMore)
        let perCall = max(maxRowsPerCall / stage, 1)
        while !active.isEmpty {
            for chunkStart in stride(from: 0, to: active.count, by: perCall) {
                let chunk = Array(active[chunkStart..<min(chunkStart + perCall, active.count)])
                let context = Matrix<Float>(rows: chunk.count, cols: xDimension) { r, j in Float(rows[chunk[r]][j]) }
                let draws = ensemble.sample(stage, context: context, rng: &rng).converted(to: Double.self)
                let inSupport = prior.contains(draws)
                for (slot, k) in chunk.enumerated() {
                    inside[k] += inSupport[(slot * stage)..<((slot + 1) * stage)].filter { $0 }.count
                    drawn[k] += stage
                }
            }
            active = active.filter(needsMore)
        }
        // At least one accepted draw, so that the correction stays finite.
        return rows.indices.map { Double(max(inside[$0], 1)) / Double(drawn[$0]) }
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
