import Foundation
import ILIInference
import ILIRegistry
import ILITensor

/// Where a round's θs come from, as the registry records it (the round's `proposal` JSON).
public enum ProposalDescription: Codable, Sendable, Equatable {
    /// The prior.
    case prior
    /// The prior restricted to where posterior `posterior`'s density at the observation is
    /// above the `quantile` quantile of its own draws' densities.
    case truncatedPrior(posterior: PosteriorID, quantile: Double)
    /// Posterior `posterior` at the observation.
    case posterior(posterior: PosteriorID)
    /// Of `candidates` draws of posterior `posterior` per simulation, those its members
    /// disagree on most.
    case active(posterior: PosteriorID, candidates: Int)

    /// The round's strategy as `ili registry rounds` lists it.
    public var strategyName: String {
        switch self {
        case .prior: return "prior"
        case .truncatedPrior: return "truncated"
        case .posterior: return "posterior"
        case .active: return "active"
        }
    }

    /// The posterior the proposal is built from, if any.
    public var sourcePosterior: PosteriorID? {
        switch self {
        case .prior: return nil
        case .truncatedPrior(let id, _), .posterior(let id), .active(let id, _): return id
        }
    }
}

/// A distribution to draw a round's θs from.
protocol Proposal {
    /// `count` θ rows; the same random source gives the same rows.
    func draw(_ count: Int, rng: inout RandomSource) throws -> Matrix<Double>
}

struct PriorProposal: Proposal {
    let prior: any Prior
    func draw(_ count: Int, rng: inout RandomSource) throws -> Matrix<Double> { prior.sample(count, rng: &rng) }
}

/// The posterior at one observation (sequential NLE and NRE, sequential NPE with the atomic loss).
struct PosteriorProposal: Proposal {
    let posterior: any Posterior
    let observation: [Double]

    func draw(_ count: Int, rng: inout RandomSource) throws -> Matrix<Double> {
        try posterior.sample(count, observations: Matrix(rows: 1, cols: observation.count, observation), rng: &rng)
    }
}

/// The prior restricted to the posterior's highest-density region at the observation
/// (truncated sequential NPE): inside it the proposal is proportional to the prior, so the
/// plain NPE loss on every round's data still learns the posterior there.
struct TruncatedPriorProposal: Proposal {
    let prior: any Prior
    let posterior: any Posterior
    let observation: [Double]
    /// log q(θ | x_o) above which θ is inside the region.
    let threshold: Double
    /// Prior draws per requested θ before giving up.
    var maxDrawsPerSample = 10_000

    /// Sets the threshold at the `quantile` quantile of the log-density of `draws`
    /// posterior samples at the observation.
    init(prior: any Prior, posterior: any Posterior, observation: [Double], quantile: Double, draws: Int = 10_000,
         rng: inout RandomSource) throws {
        self.prior = prior
        self.posterior = posterior
        self.observation = observation
        let x = Matrix(rows: 1, cols: observation.count, observation)
        let samples = try posterior.sample(draws, observations: x, rng: &rng)
        let logQ = try posterior.logProb(samples, observations: Self.repeated(observation, draws)).sorted()
        threshold = logQ[min(logQ.count - 1, Int((quantile * Double(logQ.count)).rounded(.down)))]
    }

    static func repeated(_ observation: [Double], _ rows: Int) -> Matrix<Double> {
        Matrix(rows: rows, cols: observation.count) { _, j in observation[j] }
    }

    /// Whether each θ row lies inside the region.
    func contains(_ theta: Matrix<Double>) throws -> [Bool] {
        try posterior.logProb(theta, observations: Self.repeated(observation, theta.rows)).map { $0 >= threshold }
    }

    func draw(_ count: Int, rng: inout RandomSource) throws -> Matrix<Double> {
        var kept: [Double] = []
        kept.reserveCapacity(count * prior.dimension)
        var drawn = 0
        while kept.count < count * prior.dimension {
            let batch = max(1_000, 4 * (count - kept.count / prior.dimension))
            let candidates = prior.sample(batch, rng: &rng)
            drawn += batch
            for (i, inside) in try contains(candidates).enumerated() where inside && kept.count < count * prior.dimension {
                kept += candidates.row(i)
            }
            if kept.count < count * prior.dimension && drawn >= maxDrawsPerSample * count {
                throw SimulationError("""
                    the truncated prior kept only \(kept.count / prior.dimension) of \(drawn) prior draws (the posterior's \
                    region at the observation is tiny next to the prior); use proposal: atomic, or a narrower prior
                    """)
            }
        }
        return Matrix(rows: count, cols: prior.dimension, kept)
    }
}

/// Active rounds: candidates from the posterior at the observation, keeping those on which
/// the ensemble's members disagree most (the largest spread, across members, of each
/// member's own log-density, likelihood or logit there; see `EnsembleDisagreement`).
struct ActiveProposal: Proposal {
    let posterior: any Posterior
    let observation: [Double]
    let candidatesPerSimulation: Int

    func draw(_ count: Int, rng: inout RandomSource) throws -> Matrix<Double> {
        let x = Matrix(rows: 1, cols: observation.count, observation)
        let candidates = try posterior.sample(count * candidatesPerSimulation, observations: x, rng: &rng)
        let spread = try EnsembleDisagreement.spread(of: posterior, theta: candidates, observation: observation)
        // Ties broken by candidate order, so the choice is deterministic.
        let order = spread.indices.sorted { spread[$0] != spread[$1] ? spread[$0] > spread[$1] : $0 < $1 }
        return candidates.rows(at: Array(order.prefix(count)))
    }
}

/// How much an ensemble's members disagree about θ at one observation: the standard
/// deviation, across members, of each member's log q(θ | x_o) (NPE), log q(x_o | θ) (NLE)
/// or logit f(θ, x_o) (NRE). Where the members agree, more simulations teach them little.
enum EnsembleDisagreement {
    static func spread(of posterior: any Posterior, theta: Matrix<Double>, observation: [Double]) throws -> [Double] {
        let t = theta.converted(to: Float.self)
        let x = Matrix<Float>(rows: theta.rows, cols: observation.count) { _, j in Float(observation[j]) }
        let perMember: [[Double]]
        if let direct = posterior as? DirectPosterior {
            perMember = direct.ensemble.members.map { member in
                let tape = Tape<Float>(recordsGradients: false)
                return member.logProb(tape.constant(t), context: tape.constant(x)).value.storage.map(Double.init)
            }
        } else if let mcmc = posterior as? MCMCPosterior {
            switch mcmc.model {
            case .likelihood(let ensemble):
                perMember = ensemble.members.map { member in
                    let tape = Tape<Float>(recordsGradients: false)
                    return member.logProb(tape.constant(x), context: tape.constant(t)).value.storage.map(Double.init)
                }
            case .ratio(let ensemble):
                perMember = ensemble.members.map { member in
                    let tape = Tape<Float>(recordsGradients: false)
                    return member.logit(tape.constant(t), tape.constant(x)).value.storage.map(Double.init)
                }
            }
        } else {
            throw SimulationError("active rounds need an ensemble posterior")
        }
        let k = Double(perMember.count)
        return (0..<theta.rows).map { i in
            let values = perMember.map { $0[i] }
            let mean = values.reduce(0, +) / k
            let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / k
            return variance.isFinite ? variance.squareRoot() : 0
        }
    }
}
