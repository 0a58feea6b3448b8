import ILITensor

/// A prior distribution p(θ) over parameter vectors, evaluated row by row.
///
/// ```swift
/// let prior = try PriorSpecification.uniform(low: [-1, -1], high: [1, 1]).makePrior()
/// var rng = RandomSource(seed: 1)
/// let theta = prior.sample(1000, rng: &rng)     // 1000 × 2
/// let lp = prior.logProb(theta)                 // log(1/4) each
/// ```
public protocol Prior: Sendable {
    /// The number of parameters.
    var dimension: Int { get }
    /// log p(θ) of each row; −∞ outside the support.
    func logProb(_ theta: Matrix<Double>) -> [Double]
    /// `count` independent draws, one per row.
    func sample(_ count: Int, rng: inout RandomSource) -> Matrix<Double>
    /// The interval each parameter lives in (infinite ends where unbounded), for samplers
    /// that map bounded parameters to an unconstrained space.
    var supportBounds: [SupportInterval] { get }
    /// The description this prior was built from, for saving with a posterior.
    var specification: PriorSpecification { get }
}

extension Prior {
    /// Whether each row lies in the support.
    public func contains(_ theta: Matrix<Double>) -> [Bool] {
        precondition(theta.cols == dimension, "θ of width \(theta.cols) for a \(dimension)-parameter prior")
        return (0..<theta.rows).map { i in
            (0..<dimension).allSatisfy { j in supportBounds[j].contains(theta[i, j]) }
        }
    }
}

/// A closed interval, possibly unbounded on either side.
public struct SupportInterval: Sendable, Equatable, Codable {
    public var lower: Double
    public var upper: Double

    public init(lower: Double, upper: Double) {
        self.lower = lower
        self.upper = upper
    }

    public static let real = SupportInterval(lower: -.infinity, upper: .infinity)
    public static let positive = SupportInterval(lower: 0, upper: .infinity)

    public func contains(_ x: Double) -> Bool { x >= lower && x <= upper && !x.isNaN }
    public var isBounded: Bool { lower.isFinite || upper.isFinite }
}
