import ILITensor

/// A posterior p(θ | x) that draws samples and evaluates log-densities for many
/// observations at once, which validation over hundreds of test points relies on.
///
/// ```swift
/// let draws = try posterior.sample(1000, observations: xo, rng: &rng)   // (k·1000) × d
/// let lp = try posterior.logProb(theta, observations: x)                // one per row pair
/// ```
public protocol Posterior: AnyObject {
    var prior: any Prior { get }
    var thetaDimension: Int { get }
    var xDimension: Int { get }
    /// Whether `logProb` is normalised over θ (direct posteriors) or known only up to a
    /// constant per observation (MCMC posteriors of NLE and NRE). Rankings within one
    /// observation, as coverage uses them, are valid either way.
    var logProbIsNormalized: Bool { get }

    /// `count` samples for each row of `observations` (k × xDimension): a (k·count) ×
    /// thetaDimension matrix whose rows `i·count..<(i+1)·count` belong to observation i.
    func sample(_ count: Int, observations: Matrix<Double>, rng: inout RandomSource) throws -> Matrix<Double>

    /// log p(θᵢ | xᵢ) for each pair of rows of `theta` and `observations`.
    func logProb(_ theta: Matrix<Double>, observations: Matrix<Double>) throws -> [Double]
}

extension Posterior {
    /// Throws a `PosteriorError` naming the shapes unless `observations` has rows of
    /// `xDimension`, and naming the row and index of the first NaN or infinite value: a
    /// posterior conditioned on NaN gives nothing meaningful, and sampling would fail much
    /// later with a misleading message about the prior's support.
    public func checkObservations(_ observations: Matrix<Double>) throws {
        guard observations.cols == xDimension else {
            throw PosteriorError(.shapeMismatch, "observations are \(observations.shapeDescription) but this posterior takes x of width \(xDimension) (k×\(xDimension))")
        }
        try observations.storage.withUnsafeBufferPointer { values in
            for (position, value) in values.enumerated() where !value.isFinite {
                let row = position / observations.cols, index = position % observations.cols
                let which = observations.rows == 1 ? "the observation" : "observation \(row) (row \(row))"
                throw PosteriorError(.nonFiniteObservation, "\(which) holds \(value) at index \(index); a posterior needs finite x, so remove or replace that value")
            }
        }
    }

    public func checkPairs(_ theta: Matrix<Double>, _ observations: Matrix<Double>) throws {
        try checkObservations(observations)
        guard theta.cols == thetaDimension else {
            throw PosteriorError(.shapeMismatch, "θ is \(theta.shapeDescription) but this posterior has \(thetaDimension) parameters")
        }
        guard theta.rows == observations.rows else {
            throw PosteriorError(.shapeMismatch, "θ has \(theta.rows) rows and the observations \(observations.rows); give one observation per θ row")
        }
    }
}
