import Foundation
import ILINets
import RealModule

/// The posterior of NLE and NRE: p(θ | x) ∝ q(x | θ) p(θ) (or r(θ, x) p(θ)), sampled by MCMC.
///
/// The chains of every observation run together: one network call evaluates the potential
/// log q(xₒ | θ) + log p(θ) for all chains of all observations. Bounded priors are sampled in
/// an unconstrained space (logit for boxes, log for one-sided supports) with the Jacobian
/// in the potential, and chains start from prior draws resampled by the network term.
///
/// ```swift
/// let posterior = MCMCPosterior(prior: prior, model: .likelihood(result.ensemble))
/// posterior.sampler.chains = 40
/// let draws = try posterior.sample(10_000, observations: xo, rng: &rng)
/// print(posterior.lastDiagnostics[0]?.rHat ?? [])
/// ```
public final class MCMCPosterior: Posterior {
    /// The network term of the potential.
    public enum Model {
        /// NLE: log q(x | θ), a density of x conditioned on θ.
        case likelihood(DensityEnsemble)
        /// NRE: log r(θ, x), a classifier's logit.
        case ratio(RatioEnsemble)
    }

    public let prior: any Prior
    public let model: Model
    /// The sampler and its settings (slice over 20 chains with 200 warm-up steps by default).
    public var sampler: SamplerSettings
    /// Prior draws per observation from which chains start, resampled by the network term.
    public var initialCandidates = 10_000
    /// The most rows given to the networks in one call (bounds memory for many observations).
    public var maxRowsPerCall = 100_000
    /// The most rows one network evaluation takes; larger batches are split into blocks of
    /// this many rows, which `RowParallelism` spreads over threads. Small blocks keep each
    /// layer's output in cache and reuse freed buffers: validating an NLE posterior (MAF,
    /// 200 test points × 1,000 samples) peaked at 62 MB with 4,096-row blocks instead of
    /// 494 MB with 100,000-row calls. The block size is fixed rather than derived from the
    /// thread count because BLAS may round a row differently in another block size, which
    /// chains then amplify: with it fixed, any thread count gives the same draws.
    public var rowsPerNetworkCall = 512
    /// Called as sampling progresses (throttled by the sampler).
    public var progress: ((SamplerProgress) -> Void)?
    /// Receives warnings (diagnostics out of bounds); the library prints nothing itself, so a program shows
    /// them to its users as it sees fit.
    public var warn: ((String) -> Void)?
    /// Given the diagnostics of each `sample` call (one per observation, nil for SIR) in
    /// place of the warnings, for a program that words them for its own users.
    public var diagnosticsObserver: (([ChainDiagnostics?]) -> Void)?
    /// The diagnostics of the last `sample` call, one per observation (nil for SIR).
    public private(set) var lastDiagnostics: [ChainDiagnostics?] = []
    /// What the last `sample` call cost: batched network calls and rows evaluated.
    public private(set) var lastCost: (targetCalls: Int, evaluatedRows: Int) = (0, 0)

    public init(prior: any Prior, model: Model, sampler: SamplerSettings = SamplerSettings()) {
        switch model {
        case .likelihood(let ensemble):
            precondition(prior.dimension == ensemble.contextCount,
                         "a \(prior.dimension)-parameter prior with a likelihood conditioned on \(ensemble.contextCount) values")
        case .ratio(let ensemble):
            precondition(prior.dimension == ensemble.parameterCount,
                         "a \(prior.dimension)-parameter prior with a classifier of \(ensemble.parameterCount) parameters")
        }
        self.prior = prior
        self.model = model
        self.sampler = sampler
    }

    public var thetaDimension: Int { prior.dimension }
    public var xDimension: Int {
        switch model {
        case .likelihood(let ensemble): return ensemble.featureCount
        case .ratio(let ensemble): return ensemble.dataCount
        }
    }
    public var logProbIsNormalized: Bool { false }

    /// log q(xᵢ | θᵢ) or log r(θᵢ, xᵢ) for each row pair, in blocks of at most
    /// `rowsPerNetworkCall` rows evaluated side by side on `RowParallelism.width` threads.
    public func networkTerm(theta: Matrix<Double>, observations: Matrix<Double>) -> [Double] {
        let step = max(rowsPerNetworkCall, 1)
        let starts = Array(stride(from: 0, to: theta.rows, by: step))
        let model = model
        return RowParallelism.map(starts.count) { b -> [Double] in
            let rows = Array(starts[b]..<min(starts[b] + step, theta.rows))
            let t = (rows.count == theta.rows ? theta : theta.rows(at: rows)).converted(to: Float.self)
            let x = (rows.count == theta.rows ? observations : observations.rows(at: rows)).converted(to: Float.self)
            switch model {
            case .likelihood(let ensemble): return ensemble.logProb(x, context: t)
            case .ratio(let ensemble): return ensemble.logRatio(theta: t, x: x)
            }
        }.flatMap { $0 }
    }

    /// The unnormalised log posterior: network term plus log prior (−∞ outside the support).
    public func logProb(_ theta: Matrix<Double>, observations: Matrix<Double>) throws -> [Double] {
        try checkPairs(theta, observations)
        return potential(theta, observations: observations)
    }

    func potential(_ theta: Matrix<Double>, observations: Matrix<Double>) -> [Double] {
        let logPrior = prior.logProb(theta)
        let inside = (0..<theta.rows).filter { logPrior[$0] > -.infinity }
        var values = [Double](repeating: -.infinity, count: theta.rows)
        guard !inside.isEmpty else { return values }
        let all = inside.count == theta.rows
        let term = networkTerm(theta: all ? theta : theta.rows(at: inside),
                               observations: all ? observations : observations.rows(at: inside))
        for (slot, i) in inside.enumerated() { values[i] = term[slot] + logPrior[i] }
        return values
    }

    /// The observation of each row of a group-major batch of `rows` over `groups` observations.
    private func repeated(_ observations: Matrix<Double>, rows: Int) -> Matrix<Double> {
        let perGroup = rows / observations.rows
        return observations.rows(at: (0..<rows).map { $0 / perGroup })
    }

    public func sample(_ count: Int, observations: Matrix<Double>, rng: inout RandomSource) throws -> Matrix<Double> {
        try checkObservations(observations)
        do {
            try sampler.validate()
        } catch let error as SamplerError {
            throw PosteriorError(.samplingFailed, "sampler settings: \(error.message)")
        }
        let groups = observations.rows, d = thetaDimension
        var run: SamplerRun
        do {
            switch sampler.kind {
            case .sir:
                // Proposals from the prior: the importance weight is the network term alone.
                run = try runImportanceResampling(
                    oversampling: sampler.sirOversampling,
                    target: { theta in self.potential(theta, observations: self.repeated(observations, rows: theta.rows)) },
                    proposal: { rows, rng in self.prior.sample(rows, rng: &rng) },
                    proposalLogDensity: { self.prior.logProb($0) },
                    groups: groups, count: count, rng: &rng, maxRowsPerCall: maxRowsPerCall, progress: progress)
            case .slice, .ensemble:
                let transform = UnconstrainedTransform(bounds: prior.supportBounds)
                // Large samples run more chains, so that mode weights do not hang on a few starts.
                var settings = sampler
                settings.chains = sampler.chains(forDraws: count)
                let starts = initialStates(observations: observations, chains: settings.chains, rng: &rng)
                let thetaTarget: BatchedLogDensity = { theta in
                    self.potential(theta, observations: self.repeated(observations, rows: theta.rows))
                }
                run = try runMCMC(settings, target: transform.unconstrainedTarget(thetaTarget),
                                  initial: transform.unconstrained(starts), groups: groups, count: count,
                                  rng: &rng, progress: progress)
                run.samples = run.samples.map { transform.constrained($0) }
            }
        } catch let error as SamplerError {
            throw PosteriorError(.samplingFailed, error.message)
        }
        lastDiagnostics = run.diagnostics
        lastCost = (run.targetCalls, run.evaluatedRows)
        if let diagnosticsObserver { diagnosticsObserver(run.diagnostics) } else { reportDiagnostics(run.diagnostics) }
        var storage: [Double] = []
        storage.reserveCapacity(groups * count * d)
        for block in run.samples { storage += block.storage }
        return Matrix(rows: groups * count, cols: d, storage)
    }

    /// One warning line per observation whose diagnostics are out of bounds, at most three
    /// of them and then a count, so that a test set of hundreds stays readable.
    private func reportDiagnostics(_ diagnostics: [ChainDiagnostics?]) {
        let flagged = diagnostics.enumerated().compactMap { g, d in d.flatMap { $0.warnings.isEmpty ? nil : (g, $0) } }
        guard !flagged.isEmpty else { return }
        for (g, d) in flagged.prefix(3) {
            warn?((diagnostics.count > 1 ? "observation \(g): " : "") + d.warnings.joined(separator: "; "))
        }
        if flagged.count > 3 {
            warn?("\(flagged.count) of \(diagnostics.count) observations have R-hat or ESS out of bounds")
        }
        warn?("the draws may not represent the posterior: more chains, a longer warm-up or thinning help; chains that still disagree may each sit in one mode of a multimodal posterior")
    }

    /// Chain starts, group-major: for each observation, prior draws resampled with weights
    /// given by the network term (importance resampling towards the posterior), without
    /// replacement so that no two chains start at the same point (the ensemble sampler's
    /// stretch moves cannot separate walkers that coincide). With many observations the
    /// candidates per observation shrink so that one call stays bounded, but never below
    /// ten per chain.
    func initialStates(observations: Matrix<Double>, chains: Int, rng: inout RandomSource) -> Matrix<Double> {
        let groups = observations.rows, d = thetaDimension
        let perGroup = max(chains * 10, min(initialCandidates, maxRowsPerCall / max(groups, 1)))
        var storage: [Double] = []
        storage.reserveCapacity(groups * chains * d)
        let groupsPerCall = max(1, maxRowsPerCall / perGroup)
        for first in stride(from: 0, to: groups, by: groupsPerCall) {
            let block = Array(first..<min(first + groupsPerCall, groups))
            let candidates = prior.sample(block.count * perGroup, rng: &rng)
            let xs = observations.rows(at: (0..<candidates.rows).map { block[$0 / perGroup] })
            let weights = networkTerm(theta: candidates, observations: xs)
            for slot in block.indices {
                let rows = Array((slot * perGroup)..<((slot + 1) * perGroup))
                let chosen = distinctDraws(rows.map { weights[$0] }, count: chains, rng: &rng)
                storage += candidates.rows(at: chosen.map { rows[$0] }).storage
            }
        }
        return Matrix(rows: groups * chains, cols: d, storage)
    }

    /// `count` distinct indices drawn with probability ∝ exp(logWeights), one after another
    /// without replacement (the Gumbel top-k trick: the largest log-weight plus Gumbel noise).
    /// Indices of zero weight come last, in random order, when too few have weight.
    private func distinctDraws(_ logWeights: [Double], count: Int, rng: inout RandomSource) -> [Int] {
        let keys = logWeights.map { w -> Double in
            let gumbel = -Double.log(-Double.log(Swift.max(rng.uniform(), Double.leastNormalMagnitude)))
            return w.isFinite ? w + gumbel : -.infinity
        }
        var order = Array(logWeights.indices)
        let tieBreak = rng.permutation(order.count)
        order.sort { keys[$0] != keys[$1] ? keys[$0] > keys[$1] : tieBreak[$0] < tieBreak[$1] }
        return Array(order.prefix(count))
    }
}
