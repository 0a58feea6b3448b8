import RealModule

/// One step of a flow, in the density direction y → z.
public enum FlowStep<Scalar: TensorScalar> {
    case affineAutoregressive(AffineAutoregressiveTransform<Scalar>)
    case splineCoupling(SplineCouplingTransform<Scalar>)
    case luLinear(LULinearTransform<Scalar>)
    case permutation(PermutationTransform)

    public var parameters: [Parameter<Scalar>] {
        switch self {
        case .affineAutoregressive(let t): return t.parameters
        case .splineCoupling(let t): return t.parameters
        case .luLinear(let t): return t.parameters
        case .permutation: return []
        }
    }

    /// The step's output and log|det| of each row (`nil` for volume-preserving steps).
    @inlinable
    public func forward(_ x: Variable<Scalar>, context: Variable<Scalar>?) -> (Variable<Scalar>, Variable<Scalar>?) {
        switch self {
        case .affineAutoregressive(let t): return t.forward(x, context: context)
        case .splineCoupling(let t): return t.forward(x, context: context)
        case .luLinear(let t): return t.forward(x)
        case .permutation(let p): return (p.forward(x), nil)
        }
    }

    @inlinable
    public func inverse(_ z: Matrix<Scalar>, context: Variable<Scalar>?, tape: Tape<Scalar>) -> Matrix<Scalar> {
        switch self {
        case .affineAutoregressive(let t): return t.inverse(z, context: context, tape: tape)
        case .splineCoupling(let t): return t.inverse(z, context: context, tape: tape)
        case .luLinear(let t): return t.inverse(z)
        case .permutation(let p): return p.inverse(z)
        }
    }
}

/// A conditional normalizing flow: z-scoring of y, a stack of invertible steps whose
/// conditioners see the (z-scored, optionally embedded) context, and a standard normal
/// base. `configuration.kind` picks the steps:
///
/// - `.maf`: MADE affine steps with a permutation after each (sbi's MAF; reversing by
///   default where sbi draws random permutations, see `resolvedPermutation`);
/// - `.nsf`: rational-quadratic couplings on alternating halves, each followed by an
///   LU linear map or a permutation (sbi's NSF).
///
/// ```swift
/// var rng = RandomSource(seed: 0)
/// let flow = ConditionalFlow<Float>(configuration: .maf(features: 2, context: 3), rng: &rng)
/// flow.fitStandardization(features: thetas, context: xs)
/// let logQ = flow.logProb(tape.constant(thetas), context: tape.constant(xs))   // n × 1
/// ```
public final class ConditionalFlow<Scalar: TensorScalar>: ConditionalDensityEstimator {
    public private(set) var configuration: DensityEstimatorConfiguration
    public var featureStandardization: Standardization<Scalar>
    public var contextStandardization: Standardization<Scalar>
    public let embedding: EmbeddingNetwork<Scalar>?
    public let steps: [FlowStep<Scalar>]

    public init(configuration: DensityEstimatorConfiguration, rng: inout RandomSource) {
        precondition(configuration.kind == .maf || configuration.kind == .nsf,
                     "ConditionalFlow builds MAF and NSF, not \(configuration.kind)")
        var config = configuration
        let d = config.featureCount
        let context = config.conditionerContextCount
        let activation = config.resolvedActivation
        featureStandardization = .identity(d)
        contextStandardization = .identity(config.contextCount)
        embedding = config.embedding.map { EmbeddingNetwork(configuration: $0, rng: &rng, name: "embedding") }

        var permutations = config.permutations ?? []
        var nextPermutation = 0
        func permutation() -> PermutationTransform {
            defer { nextPermutation += 1 }
            if nextPermutation < permutations.count { return PermutationTransform(order: permutations[nextPermutation]) }
            let order = config.resolvedPermutation == .reverse
                ? Array((0..<d).reversed()) : rng.permutation(d)
            permutations.append(order)
            return PermutationTransform(order: order)
        }

        var steps: [FlowStep<Scalar>] = []
        for t in 0..<config.transformCount {
            switch config.kind {
            case .maf:
                steps.append(.affineAutoregressive(AffineAutoregressiveTransform(
                    features: d, context: context, hidden: config.hiddenFeatures, blocks: config.blockCount,
                    activation: activation, residual: config.resolvedResidualBlocks, rng: &rng, name: "steps.\(t).made")))
                steps.append(.permutation(permutation()))
            default:
                steps.append(.splineCoupling(SplineCouplingTransform(
                    features: d, context: context, transformEvenFeatures: t % 2 == 0, hidden: config.hiddenFeatures,
                    blocks: config.blockCount, bins: config.binCount, tailBound: Scalar(config.tailBound),
                    activation: activation, rng: &rng, name: "steps.\(t).coupling")))
                if d > 1 {
                    switch config.couplingMixing {
                    case .luLinear: steps.append(.luLinear(LULinearTransform(features: d, name: "steps.\(t).lu")))
                    case .permutation: steps.append(.permutation(permutation()))
                    }
                }
            }
        }
        config.permutations = permutations.isEmpty ? nil : permutations
        self.configuration = config
        self.steps = steps
    }

    public var parameters: [Parameter<Scalar>] {
        (embedding?.parameters ?? []) + steps.flatMap(\.parameters)
    }

    /// The context the conditioners see: z-scored, then embedded.
    @inlinable
    public func conditionerContext(_ context: Variable<Scalar>) -> Variable<Scalar>? {
        guard contextCount > 0 else { return nil }
        let standardized = contextStandardization.apply(context)
        return embedding.map { $0(standardized) } ?? standardized
    }

    /// The flow's map y → z of each row, and log|det ∂z/∂y| (m×1).
    @inlinable
    @_specialize(where Scalar == Float)
    public func transform(_ y: Variable<Scalar>, context: Variable<Scalar>) -> (Variable<Scalar>, Variable<Scalar>) {
        precondition(y.cols == featureCount && context.cols == contextCount && y.rows == context.rows,
                     "y \(y.shapeDescription) and context \(context.shapeDescription) for a flow of \(featureCount) features and \(contextCount) context values")
        let c = conditionerContext(context)
        var x = featureStandardization.apply(y)
        var logDet: Variable<Scalar>? = nil
        for step in steps {
            let (next, stepLogDet) = step.forward(x, context: c)
            x = next
            if let stepLogDet { logDet = logDet.map { $0 + stepLogDet } ?? stepLogDet }
        }
        let fixed = featureStandardization.logAbsDeterminant
        let total = logDet.map { $0 + fixed } ?? y.tape.constant(Matrix(rows: y.rows, cols: 1, repeating: fixed))
        return (x, total)
    }

    @inlinable
    @_specialize(where Scalar == Float)
    public func logProb(_ y: Variable<Scalar>, context: Variable<Scalar>) -> Variable<Scalar> {
        let (z, logDet) = transform(y, context: context)
        return standardNormalLogDensity(z) + logDet
    }

    /// y from base draws z (m×D) for the given contexts (m × contextCount).
    @inlinable
    @_specialize(where Scalar == Float)
    public func invert(_ z: Matrix<Scalar>, context: Matrix<Scalar>) -> Matrix<Scalar> {
        let tape = Tape<Scalar>(recordsGradients: false)
        let c = conditionerContext(tape.constant(context))
        var x = z
        for step in steps.reversed() { x = step.inverse(x, context: c, tape: tape) }
        return featureStandardization.invert(x)
    }

    @inlinable
    @_specialize(where Scalar == Float)
    public func sample(_ count: Int, context: Matrix<Scalar>, rng: inout RandomSource) -> Matrix<Scalar> {
        precondition(context.cols == contextCount, "context \(context.shapeDescription) for a flow with \(contextCount) context values")
        let repeated = repeatEachRow(context, count)
        let z: Matrix<Scalar> = rng.normalMatrix(rows: repeated.rows, cols: featureCount)
        return invert(z, context: repeated)
    }
}
