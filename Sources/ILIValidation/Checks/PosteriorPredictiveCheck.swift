import ILITensor

/// The posterior predictive check at one observation: simulate at posterior draws and see
/// where the observation falls among the simulated data.
///
/// Per component of x, the fraction of simulated values below the observed one, and the
/// two-sided tail probability 2·min(q, 1 − q). Jointly, the standardised distance of x_o
/// from the predictive mean is ranked among the same distance of each simulated x: a
/// small tail probability says the model cannot reproduce the observation.
///
/// ```swift
/// var rng = RandomSource(seed: 4)
/// let ppc = try PosteriorPredictiveCheck.run(posterior: posterior, observation: xo,
///                                            simulator: GaussianLinear(), count: 1000, rng: &rng)
/// ppc.jointTailProbability
/// ```
public enum PosteriorPredictiveCheck {
    public struct Result: Sendable, Codable, Equatable {
        public var simulations: Int
        /// Per component: the fraction of simulated values below the observed value.
        public var quantiles: [Double]
        /// Per component: 2·min(q, 1 − q).
        public var tailProbabilities: [Double]
        /// The fraction of simulated x at least as far from the predictive mean as x_o.
        public var jointTailProbability: Double
        public var predictiveMean: [Double]
        public var predictiveStandardDeviation: [Double]
    }

    public static func run(posterior: any Posterior, observation: Matrix<Double>, simulator: any Simulator,
                           count: Int = 1000, rng: inout RandomSource) throws -> Result {
        guard observation.rows == 1 else {
            throw ValidationSuiteError("a predictive check takes one observation (1×\(posterior.xDimension)), got \(observation.shapeDescription)")
        }
        guard simulator.xDimension == observation.cols, simulator.thetaDimension == posterior.thetaDimension else {
            throw ValidationSuiteError("the simulator maps θ of width \(simulator.thetaDimension) to x of width \(simulator.xDimension); the posterior has θ of width \(posterior.thetaDimension) and the observation width \(observation.cols)")
        }
        let theta = try posterior.sample(count, observations: observation, rng: &rng)
        let simulated = simulator.simulate(theta, rng: &rng)
        return summarize(simulated: simulated, observation: observation.row(0))
    }

    /// The check from simulations already made.
    public static func summarize(simulated: Matrix<Double>, observation: [Double]) -> Result {
        let n = simulated.rows, p = simulated.cols
        let columns = (0..<p).map { j in (0..<n).map { simulated[$0, j] } }
        let mean = columns.map(SampleStatistics.mean)
        let std = columns.map { c -> Double in let s = SampleStatistics.standardDeviation(c); return s > 0 ? s : 1 }
        let quantiles = (0..<p).map { j in
            Double(columns[j].reduce(0) { $0 + ($1 < observation[j] ? 1 : 0) }) / Double(n)
        }
        var observed = 0.0
        for j in 0..<p { let z = (observation[j] - mean[j]) / std[j]; observed += z * z }
        let atLeastAsFar = (0..<n).reduce(0) { $0 + (distanceOfRow(simulated, $1, mean, std) >= observed ? 1 : 0) }
        return Result(simulations: n, quantiles: quantiles,
                      tailProbabilities: quantiles.map { 2 * Swift.min($0, 1 - $0) },
                      jointTailProbability: Double(atLeastAsFar) / Double(n),
                      predictiveMean: mean, predictiveStandardDeviation: std)
    }

    static func distanceOfRow(_ m: Matrix<Double>, _ i: Int, _ mean: [Double], _ std: [Double]) -> Double {
        var s = 0.0
        for j in 0..<m.cols { let z = (m[i, j] - mean[j]) / std[j]; s += z * z }
        return s
    }
}
