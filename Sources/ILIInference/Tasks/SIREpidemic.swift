import ILITensor
import RealModule

/// The SIR epidemic task of the SBI benchmark (sbibm's `sir`).
///
/// θ = (β, γ), the contact rate and the recovery rate per day, log-normal:
/// log β ~ N(log 0.4, 0.5²), log γ ~ N(log 0.125, 0.2²). In a population of N = 10⁶ with
/// one infected person at t = 0 and nobody recovered,
///
///     S′ = −β S I / N,    I′ = β S I / N − γ I,    R′ = γ I,
///
/// and the infected are observed on days 0, 17, 34, …, 153 (every 17th day of the
/// benchmark's 160 days): xₖ ~ Binomial(1000, Iₖ / N), how many of 1,000 people tested on
/// day k are infected.
///
/// R does not feed back, so the ODE is integrated for (log s, log i), the fractions
/// s = S/N and i = I/N: (log s)′ = −β i, (log i)′ = β s − γ. That keeps both positive and
/// gives i to a relative accuracy from its start at 10⁻⁶ down to the tail of the epidemic.
/// A solve that fails gives a row of NaN, as the benchmark's simulator does.
public struct SIREpidemic: Simulator {
    public init() {}

    public static let priorSpecification = PriorSpecification.logNormal(mean: [Double.log(0.4), Double.log(0.125)], std: [0.5, 0.2])
    public static let population = 1e6
    public static let initiallyInfected = 1.0
    public static let times: [Double] = (0..<10).map { Double($0) * 17 }
    /// People tested on each observation day.
    public static let trials = 1000

    public var solver = DormandPrince(relativeTolerance: 1e-10, absoluteTolerance: 1e-10)

    public var thetaDimension: Int { 2 }
    public var xDimension: Int { Self.times.count }
    public var prior: any Prior { try! Self.priorSpecification.makePrior() }

    /// The number infected, I, at the observation times; nil when the solve fails.
    public func infected(_ theta: [Double]) -> [Double]? {
        precondition(theta.count == 2, "SIR takes θ = (β, γ), got \(theta.count) values")
        let (beta, gamma) = (theta[0], theta[1])
        let i0 = Self.initiallyInfected / Self.population
        guard let states = solver.solve(from: [Double.log(1 - i0), Double.log(i0)], at: 0, to: Self.times, derivative: { _, y, dy in
            dy[0] = -beta * Double.exp(y[1])
            dy[1] = beta * Double.exp(y[0]) - gamma
        }) else { return nil }
        return states.map { Self.population * Double.exp($0[1]) }
    }

    public func simulate(_ theta: Matrix<Double>, rng: inout RandomSource) -> Matrix<Double> {
        precondition(theta.cols == 2, "SIR takes θ of width 2, got \(theta.cols)")
        var out = Matrix<Double>(rows: theta.rows, cols: xDimension, repeating: .nan)
        for i in 0..<theta.rows {
            guard let infected = infected([theta[i, 0], theta[i, 1]]) else { continue }
            for (j, count) in infected.enumerated() {
                let p = Swift.min(Swift.max(count / Self.population, 0), 1)
                out[i, j] = Double(Self.binomial(trials: Self.trials, probability: p, rng: &rng))
            }
        }
        return out
    }

    /// A Binomial(n, p) draw as the count of n uniform draws below p: exact, and with
    /// n = 1,000 cheap next to the ODE solve.
    static func binomial(trials n: Int, probability p: Double, rng: inout RandomSource) -> Int {
        var successes = 0
        for _ in 0..<n where rng.uniform() < p { successes += 1 }
        return successes
    }
}
