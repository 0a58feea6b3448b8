import ILITensor
import RealModule

/// An exactly known Gaussian posterior N(a·x + b, s² I), used to test validation.
///
/// The Gaussian linear task's posterior is `GaussianPosterior(task:)`; scaling its
/// variance makes an over- (scale < 1) or under-confident (scale > 1) posterior.
public final class GaussianPosterior: Posterior {
    public let prior: any Prior
    public let thetaDimension: Int
    public var xDimension: Int { thetaDimension }
    public var logProbIsNormalized: Bool { true }
    public let slope: Double
    public let offset: Double
    public let variance: Double

    public init(prior: any Prior, slope: Double, offset: Double = 0, variance: Double) {
        self.prior = prior
        self.thetaDimension = prior.dimension
        self.slope = slope
        self.offset = offset
        self.variance = variance
    }

    /// The exact posterior of `task`, with its variance multiplied by `varianceScale`.
    public convenience init(task: GaussianLinear, varianceScale: Double = 1) {
        self.init(prior: task.prior, slope: task.posteriorShrinkage, variance: task.posteriorVariance * varianceScale)
    }

    public func sample(_ count: Int, observations: Matrix<Double>, rng: inout RandomSource) throws -> Matrix<Double> {
        try checkObservations(observations)
        let s = variance.squareRoot()
        let d = thetaDimension
        return Matrix(rows: observations.rows * count, cols: d) { i, j in
            slope * observations[i / count, j] + offset + s * rng.normal()
        }
    }

    public func logProb(_ theta: Matrix<Double>, observations: Matrix<Double>) throws -> [Double] {
        try checkPairs(theta, observations)
        let d = Double(thetaDimension)
        let constant = -d / 2 * Double.log(2 * Double.pi * variance)
        return (0..<theta.rows).map { i in
            var q = 0.0
            for j in 0..<thetaDimension {
                let r = theta[i, j] - slope * observations[i, j] - offset
                q += r * r
            }
            return constant - q / (2 * variance)
        }
    }
}
