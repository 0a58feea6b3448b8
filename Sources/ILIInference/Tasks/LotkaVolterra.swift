import ILITensor
import RealModule

/// The Lotka–Volterra predator–prey task of the SBI benchmark (sbibm's `lotka_volterra`).
///
/// θ = (α, β, γ, δ), each log-normal: log α, log γ ~ N(−0.125, 0.5²) and
/// log β, log δ ~ N(−3, 0.5²). Prey u and predators v follow
///
///     u′ = α u − β u v,    v′ = −γ v + δ u v,    (u, v)(0) = (30, 1),
///
/// and are observed at t = 0, 2.1, 4.2, …, 18.9 (every 21st point of the benchmark's
/// 0.1-day grid over 20 days). x holds the ten prey values then the ten predator values,
/// each with log-normal noise: xₖ = clamp(uₖ, 10⁻¹⁰, 10⁴) · exp(0.1 εₖ), εₖ ~ N(0, 1).
///
/// The ODE is integrated for (log u, log v), whose right-hand side (α − β v, −γ + δ u) keeps
/// the populations positive and makes the solver's absolute tolerance a relative one on
/// the populations, which fall to 10⁻¹⁶ on some prior draws. A solve that fails gives a
/// row of NaN, as the benchmark's simulator does; training drops such rows.
public struct LotkaVolterra: Simulator {
    public init() {}

    public static let priorSpecification = PriorSpecification.logNormal(mean: [-0.125, -3, -0.125, -3], std: [0.5, 0.5, 0.5, 0.5])
    public static let initialState = (prey: 30.0, predators: 1.0)
    public static let times: [Double] = (0..<10).map { Double($0) * 2.1 }
    public static let noiseScale = 0.1
    /// The range populations are clamped to before the noise.
    public static let clampRange = (low: 1e-10, high: 1e4)

    /// Relative accuracy 10⁻¹⁰ on each population, far below the 10% noise.
    public var solver = DormandPrince(relativeTolerance: 1e-10, absoluteTolerance: 1e-10)

    public var thetaDimension: Int { 4 }
    public var xDimension: Int { 2 * Self.times.count }
    public var prior: any Prior { try! Self.priorSpecification.makePrior() }

    /// The populations at the observation times, prey then predators, without noise and
    /// unclamped; nil when the solve fails.
    public func populations(_ theta: [Double]) -> [Double]? {
        precondition(theta.count == 4, "Lotka–Volterra takes θ = (α, β, γ, δ), got \(theta.count) values")
        let (alpha, beta, gamma, delta) = (theta[0], theta[1], theta[2], theta[3])
        let start = [Double.log(Self.initialState.prey), Double.log(Self.initialState.predators)]
        guard let states = solver.solve(from: start, at: 0, to: Self.times, derivative: { _, y, dy in
            dy[0] = alpha - beta * Double.exp(y[1])
            dy[1] = -gamma + delta * Double.exp(y[0])
        }) else { return nil }
        return states.map { Double.exp($0[0]) } + states.map { Double.exp($0[1]) }
    }

    public func simulate(_ theta: Matrix<Double>, rng: inout RandomSource) -> Matrix<Double> {
        precondition(theta.cols == 4, "Lotka–Volterra takes θ of width 4, got \(theta.cols)")
        var out = Matrix<Double>(rows: theta.rows, cols: xDimension, repeating: .nan)
        for i in 0..<theta.rows {
            guard let clean = populations((0..<4).map { theta[i, $0] }) else { continue }
            for (j, value) in clean.enumerated() {
                let clamped = Swift.min(Swift.max(value, Self.clampRange.low), Self.clampRange.high)
                out[i, j] = clamped * Double.exp(Self.noiseScale * rng.normal())
            }
        }
        return out
    }
}
