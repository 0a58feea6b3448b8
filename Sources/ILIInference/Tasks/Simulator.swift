import ILITensor

/// A simulator θ → x, vectorized over rows of θ.
public protocol Simulator: Sendable {
    var thetaDimension: Int { get }
    var xDimension: Int { get }
    /// One x row per θ row; randomness flows from `rng`.
    func simulate(_ theta: Matrix<Double>, rng: inout RandomSource) -> Matrix<Double>
}

/// A simulator with a prior and an exact posterior to sample from: what accuracy tests
/// and benchmarks compare learned posteriors against.
public protocol ReferenceTask: Simulator {
    var prior: any Prior { get }
    /// `count` samples of the exact posterior p(θ | x) for one observation.
    func referencePosterior(_ count: Int, observation: [Double], rng: inout RandomSource) throws -> Matrix<Double>
}

extension ReferenceTask {
    /// `count` pairs (θ, x) with θ from the prior.
    public func simulations(_ count: Int, rng: inout RandomSource) -> (theta: Matrix<Double>, x: Matrix<Double>) {
        let theta = prior.sample(count, rng: &rng)
        return (theta, simulate(theta, rng: &rng))
    }
}
