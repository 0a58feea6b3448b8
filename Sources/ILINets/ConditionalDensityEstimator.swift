import RealModule

/// A learnable conditional density q(y | c): what NPE learns for q(θ | x) and NLE for q(x | θ).
///
/// `logProb` is recorded on a tape so that a loss built from it trains the parameters;
/// `sample` draws independent samples for each context row. Conformers are `ConditionalFlow`
/// (MAF, NSF), `MixtureDensityNetwork` and `MADEMixture`.
///
/// ```swift
/// var rng = RandomSource(seed: 1)
/// let q: any ConditionalDensityEstimator<Float> = try makeDensityEstimator(.maf(features: 2, context: 3), rng: &rng)
/// q.fitStandardization(features: thetas, context: xs)
/// let tape = Tape<Float>()
/// let loss = -q.logProb(tape.constant(thetas), context: tape.constant(xs)).mean()
/// tape.backward(from: loss)
/// let draws = q.sample(1000, context: xObserved, rng: &rng)   // 1000 × 2
/// ```
public protocol ConditionalDensityEstimator<Scalar>: AnyObject {
    associatedtype Scalar: TensorScalar

    var configuration: DensityEstimatorConfiguration { get }
    /// Every trainable parameter, each with a unique name.
    var parameters: [Parameter<Scalar>] { get }
    /// The fixed z-scoring of y (a layer of the density, with its log-determinant).
    var featureStandardization: Standardization<Scalar> { get set }
    /// The fixed z-scoring of the raw context.
    var contextStandardization: Standardization<Scalar> { get set }

    /// log q(y | c) of each row (m×1), differentiable with respect to the parameters, y and c.
    ///
    /// - Precondition: y is m × featureCount and the context m × contextCount.
    func logProb(_ y: Variable<Scalar>, context: Variable<Scalar>) -> Variable<Scalar>

    /// `count` samples for each row of `context` (k × contextCount): a (k·count) × featureCount
    /// matrix whose rows `i·count..<(i+1)·count` belong to context row i.
    func sample(_ count: Int, context: Matrix<Scalar>, rng: inout RandomSource) -> Matrix<Scalar>
}

extension ConditionalDensityEstimator {
    public var featureCount: Int { configuration.featureCount }
    public var contextCount: Int { configuration.contextCount }

    /// Sets the z-scoring layers from training data (as the configuration asks: a layer
    /// whose flag is off stays the identity). A context read by a DeepSets embedding is
    /// z-scored per point feature (`Standardization.fittedToSets`).
    public func fitStandardization(features y: Matrix<Scalar>, context c: Matrix<Scalar>) {
        if configuration.zScoreFeatures { featureStandardization = .fitted(to: y) }
        if configuration.zScoreContext && contextCount > 0 {
            contextStandardization = .fitted(to: c, structured: configuration.structuredContext, embedding: configuration.embedding)
        }
    }

    /// Throws a `ShapeError` naming both shapes unless y is m × featureCount and the
    /// context m × contextCount.
    public func checkShapes(features y: Matrix<Scalar>?, context c: Matrix<Scalar>) throws {
        if c.cols != contextCount {
            throw ShapeError(message: "context is \(c.shapeDescription) but the model expects rows of \(contextCount) values (n×\(contextCount)); reshape or rebuild the model with contextCount \(c.cols)")
        }
        if let y {
            if y.cols != featureCount {
                throw ShapeError(message: "y is \(y.shapeDescription) but the model expects rows of \(featureCount) values (n×\(featureCount))")
            }
            if y.rows != c.rows {
                throw ShapeError(message: "y is \(y.shapeDescription) and the context \(c.shapeDescription): give one context row per y row")
            }
        }
    }

    /// log q(y | c) of each row as plain numbers, without recording gradients.
    public func logProb(of y: Matrix<Scalar>, given context: Matrix<Scalar>) throws -> [Scalar] {
        try checkShapes(features: y, context: context)
        let tape = Tape<Scalar>(recordsGradients: false)
        return logProb(tape.constant(y), context: tape.constant(context)).value.storage
    }

    /// `count` samples per context row, after checking the context's shape.
    public func samples(_ count: Int, given context: Matrix<Scalar>, rng: inout RandomSource) throws -> Matrix<Scalar> {
        try checkShapes(features: nil, context: context)
        return sample(count, context: context, rng: &rng)
    }

    /// Samples of an unconditional density (contextCount 0).
    public func sample(_ count: Int, rng: inout RandomSource) -> Matrix<Scalar> {
        sample(count, context: Matrix(rows: 1, cols: 0, []), rng: &rng)
    }
}

/// Builds the estimator a configuration describes.
public func makeDensityEstimator<Scalar: TensorScalar>(
    _ configuration: DensityEstimatorConfiguration, rng: inout RandomSource, as: Scalar.Type = Scalar.self
) throws -> any ConditionalDensityEstimator<Scalar> {
    try configuration.validate()
    switch configuration.kind {
    case .maf, .nsf: return ConditionalFlow<Scalar>(configuration: configuration, rng: &rng)
    case .mdn: return MixtureDensityNetwork<Scalar>(configuration: configuration, rng: &rng)
    case .made: return MADEMixture<Scalar>(configuration: configuration, rng: &rng)
    }
}

/// The rows of `context` each repeated `count` times in place: rows i·count..<(i+1)·count are row i.
@inlinable
func repeatEachRow<Scalar>(_ context: Matrix<Scalar>, _ count: Int) -> Matrix<Scalar> {
    context.rows(at: (0..<context.rows).flatMap { Array(repeating: $0, count: count) })
}

/// −½‖x‖² − (D/2) log 2π of each row (m×1), the standard normal log-density, as one node.
@inlinable
func standardNormalLogDensity<Scalar>(_ x: Variable<Scalar>) -> Variable<Scalar> {
    let v = x.value
    let (m, d) = (v.rows, v.cols)
    let constant = -Scalar(d) / 2 * Scalar.log(2 * Scalar.pi)
    let y = Matrix<Scalar>(rows: m, cols: 1) { out in
        for i in 0..<m {
            var s: Scalar = 0
            for j in 0..<d { s += v.storage[i * d + j] * v.storage[i * d + j] }
            out[i] = constant - s / 2
        }
    }
    return x.tape.record(y, inputs: x) { tape, g in
        tape.accumulateGradient(Matrix(rows: m, cols: d) { i, j in -g.storage[i] * v.storage[i * d + j] }, into: x)
    }
}
