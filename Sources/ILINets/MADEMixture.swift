import RealModule

/// MADE as a density estimator: each conditional q(yᵢ | y<ᵢ, c) is a mixture of K
/// one-dimensional Gaussians whose weights, means and log-deviations one MADE pass gives
/// for all i at once (sbi's `made`). Sampling runs D passes, one feature at a time.
///
/// ```swift
/// let made = MADEMixture<Float>(configuration: .made(features: 2, context: 3), rng: &rng)
/// let logQ = made.logProb(tape.constant(y), context: tape.constant(c))
/// ```
public final class MADEMixture<Scalar: TensorScalar>: ConditionalDensityEstimator {
    public let configuration: DensityEstimatorConfiguration
    public var featureStandardization: Standardization<Scalar>
    public var contextStandardization: Standardization<Scalar>
    public let embedding: EmbeddingNetwork<Scalar>?
    /// Outputs per feature: K logits, K means, K log standard deviations (in that block order).
    public let made: MADE<Scalar>

    public init(configuration: DensityEstimatorConfiguration, rng: inout RandomSource) {
        precondition(configuration.kind == .made, "MADEMixture builds MADE estimators, not \(configuration.kind)")
        self.configuration = configuration
        let d = configuration.featureCount
        featureStandardization = .identity(d)
        contextStandardization = .identity(configuration.contextCount)
        embedding = configuration.embedding.map { EmbeddingNetwork(configuration: $0, rng: &rng, name: "embedding") }
        made = MADE(features: d, context: configuration.conditionerContextCount, hidden: configuration.hiddenFeatures,
                    blocks: configuration.blockCount, outputsPerFeature: 3 * configuration.componentCount,
                    activation: configuration.resolvedActivation, residual: configuration.resolvedResidualBlocks,
                    rng: &rng, name: "made")
        // Components start equally weighted with unit spread and means spread evenly over
        // [−2, 2] (in z-scored units): with nearly equal means the components would
        // receive nearly equal gradients and move together, staying one Gaussian for long.
        let output = made.maskedLayers.last!
        let kCount = configuration.componentCount
        for k in 0..<kCount {
            let spread: Scalar = kCount > 1 ? Scalar(-2) + 4 * Scalar(k) / Scalar(kCount - 1) : 0
            for i in 0..<d {
                output.bias.value.storage[k * d + i] = 0
                output.bias.value.storage[(kCount + k) * d + i] = spread
                output.bias.value.storage[(2 * kCount + k) * d + i] = 0
            }
        }
    }

    public var parameters: [Parameter<Scalar>] { (embedding?.parameters ?? []) + made.parameters }

    @inlinable
    func conditionerContext(_ context: Variable<Scalar>) -> Variable<Scalar>? {
        guard contextCount > 0 else { return nil }
        let standardized = contextStandardization.apply(context)
        return embedding.map { $0(standardized) } ?? standardized
    }

    @inlinable
    @_specialize(where Scalar == Float)
    public func logProb(_ y: Variable<Scalar>, context: Variable<Scalar>) -> Variable<Scalar> {
        precondition(y.cols == featureCount && context.cols == contextCount && y.rows == context.rows,
                     "y \(y.shapeDescription) and context \(context.shapeDescription) for a MADE of \(featureCount) features and \(contextCount) context values")
        let z = featureStandardization.apply(y)
        let params = made(z, context: conditionerContext(context))
        return autoregressiveMixtureLogDensity(z, parameters: params, components: configuration.componentCount)
            + featureStandardization.logAbsDeterminant
    }

    @inlinable
    @_specialize(where Scalar == Float)
    public func sample(_ count: Int, context: Matrix<Scalar>, rng: inout RandomSource) -> Matrix<Scalar> {
        precondition(context.cols == contextCount, "context \(context.shapeDescription) for a MADE with \(contextCount) context values")
        let d = featureCount, kCount = configuration.componentCount
        let tape = Tape<Scalar>(recordsGradients: false)
        let c = conditionerContext(tape.constant(repeatEachRow(context, count)))
        let n = context.rows * count
        var z = Matrix<Scalar>(rows: n, cols: d, repeating: 0)
        for i in 0..<d {
            let p = made(tape.constant(z), context: c).value
            for r in 0..<n {
                let logits = (0..<kCount).map { Double(p[r, $0 * d + i]) }
                let top = logits.max()!
                let k = rng.categorical(logits.map { Double.exp($0 - top) })
                let mean = p[r, (kCount + k) * d + i], logStd = p[r, (2 * kCount + k) * d + i]
                z[r, i] = mean + Scalar.exp(logStd) * rng.normal(Scalar.self)
            }
        }
        return featureStandardization.invert(z)
    }
}

/// Σᵢ log Σₖ πᵢₖ N(yᵢ; μᵢₖ, σᵢₖ²) of each row (m×1), as one tape node.
///
/// `parameters` is m × 3KD: column (k·D + i) is the logit of component k for feature i,
/// column ((K + k)·D + i) its mean and column ((2K + k)·D + i) its log standard deviation.
@inlinable
public func autoregressiveMixtureLogDensity<Scalar>(_ y: Variable<Scalar>, parameters: Variable<Scalar>,
                                                    components kCount: Int) -> Variable<Scalar> {
    let yv = y.value, pv = parameters.value
    let (m, d) = (yv.rows, yv.cols)
    precondition(pv.rows == m && pv.cols == 3 * kCount * d,
                 "mixture parameters \(pv.shapeDescription) for \(kCount) components of a \(yv.shapeDescription) batch")
    let halfLog2Pi = Scalar.log(2 * Scalar.pi) / 2
    var perDimension = Matrix<Scalar>(rows: m, cols: d, repeating: 0)
    var logWeights = Matrix<Scalar>(rows: m, cols: kCount * d, repeating: 0)
    var componentLogDensity = Matrix<Scalar>(rows: m, cols: kCount * d, repeating: 0)
    let out = Matrix<Scalar>(rows: m, cols: 1) { result in
        for r in 0..<m {
            var total: Scalar = 0
            for i in 0..<d {
                var top = -Scalar.infinity
                for k in 0..<kCount { top = Swift.max(top, pv[r, k * d + i]) }
                var s: Scalar = 0
                for k in 0..<kCount { s += Scalar.exp(pv[r, k * d + i] - top) }
                let logNormalizer = top + Scalar.log(s)
                var best = -Scalar.infinity
                for k in 0..<kCount {
                    let lw = pv[r, k * d + i] - logNormalizer
                    let logStd = pv[r, (2 * kCount + k) * d + i]
                    let u = (yv[r, i] - pv[r, (kCount + k) * d + i]) * Scalar.exp(-logStd)
                    let lp = lw - u * u / 2 - logStd - halfLog2Pi
                    logWeights[r, k * d + i] = lw
                    componentLogDensity[r, k * d + i] = lp
                    best = Swift.max(best, lp)
                }
                var e: Scalar = 0
                for k in 0..<kCount { e += Scalar.exp(componentLogDensity[r, k * d + i] - best) }
                perDimension[r, i] = best + Scalar.log(e)
                total += perDimension[r, i]
            }
            result[r] = total
        }
    }
    return y.tape.record(out, inputs: y, parameters) { tape, g in
        var gy = Matrix<Scalar>(rows: m, cols: d, repeating: 0)
        var gp = Matrix<Scalar>(rows: m, cols: 3 * kCount * d, repeating: 0)
        for r in 0..<m {
            let gr = g.storage[r]
            for i in 0..<d {
                for k in 0..<kCount {
                    let gamma = gr * Scalar.exp(componentLogDensity[r, k * d + i] - perDimension[r, i])
                    let logStd = pv[r, (2 * kCount + k) * d + i]
                    let inverseStd = Scalar.exp(-logStd)
                    let u = (yv[r, i] - pv[r, (kCount + k) * d + i]) * inverseStd
                    gp[r, k * d + i] = gamma - gr * Scalar.exp(logWeights[r, k * d + i])
                    gp[r, (kCount + k) * d + i] = gamma * u * inverseStd
                    gp[r, (2 * kCount + k) * d + i] = gamma * (u * u - 1)
                    gy[r, i] -= gamma * u * inverseStd
                }
            }
        }
        if tape.needsGradient(y) { tape.accumulateGradient(gy, into: y) }
        if tape.needsGradient(parameters) { tape.accumulateGradient(gp, into: parameters) }
    }
}
