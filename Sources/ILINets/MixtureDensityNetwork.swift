import RealModule

/// A mixture density network: a network of the context gives the weights, means and
/// full covariances of a Gaussian mixture over y (sbi's MDN).
///
/// Each component's precision is UᵀU with U upper-triangular, `exp` on its diagonal, so
/// log det precision = 2 Σ log Uᵢᵢ and sampling is a triangular solve:
/// y = μ + U⁻¹ε. log q(y | c) is a log-sum-exp over components, one fused tape node.
///
/// ```swift
/// let mdn = MixtureDensityNetwork<Float>(configuration: .mdn(features: 2, context: 3), rng: &rng)
/// let logQ = mdn.logProb(tape.constant(y), context: tape.constant(c))
/// ```
public final class MixtureDensityNetwork<Scalar: TensorScalar>: ConditionalDensityEstimator {
    public let configuration: DensityEstimatorConfiguration
    public var featureStandardization: Standardization<Scalar>
    public var contextStandardization: Standardization<Scalar>
    public let embedding: EmbeddingNetwork<Scalar>?
    public let hidden: MultilayerPerceptron<Scalar>
    public let logitHead: Linear<Scalar>
    public let meanHead: Linear<Scalar>
    public let diagonalHead: Linear<Scalar>
    public let offDiagonalHead: Linear<Scalar>?

    public init(configuration: DensityEstimatorConfiguration, rng: inout RandomSource) {
        precondition(configuration.kind == .mdn, "MixtureDensityNetwork builds MDNs, not \(configuration.kind)")
        self.configuration = configuration
        let d = configuration.featureCount, k = configuration.componentCount, h = configuration.hiddenFeatures
        featureStandardization = .identity(d)
        contextStandardization = .identity(configuration.contextCount)
        embedding = configuration.embedding.map { EmbeddingNetwork(configuration: $0, rng: &rng, name: "embedding") }
        // Without a context the network sees a constant 1, so the mixture is still learnable.
        let inputs = Swift.max(configuration.conditionerContextCount, 1)
        hidden = MultilayerPerceptron(widths: [inputs] + Array(repeating: h, count: Swift.max(configuration.blockCount, 1)),
                                      activation: configuration.resolvedActivation, rng: &rng, name: "hidden")
        logitHead = Linear(inputs: h, outputs: k, rng: &rng, name: "logits")
        meanHead = Linear(inputs: h, outputs: k * d, rng: &rng, name: "means")
        diagonalHead = Linear(inputs: h, outputs: k * d, rng: &rng, name: "diagonal")
        offDiagonalHead = d > 1 ? Linear(inputs: h, outputs: k * d * (d - 1) / 2, rng: &rng, name: "offDiagonal") : nil
        // Start near equal weights and unit precisions, with spread-out means.
        logitHead.initializeUniform(bound: 1e-3, rng: &rng)
        diagonalHead.initializeUniform(bound: 1e-3, rng: &rng)
        offDiagonalHead?.initializeUniform(bound: 1e-3, rng: &rng)
    }

    public var parameters: [Parameter<Scalar>] {
        (embedding?.parameters ?? []) + hidden.parameters + logitHead.parameters + meanHead.parameters
            + diagonalHead.parameters + (offDiagonalHead?.parameters ?? [])
    }

    /// The mixture's raw parameters for each context row: logits, means, log-diagonals and
    /// off-diagonal entries of the precision factors.
    @inlinable
    public func mixtureParameters(_ context: Variable<Scalar>) -> (Variable<Scalar>, Variable<Scalar>, Variable<Scalar>, Variable<Scalar>?) {
        let tape = context.tape
        var input: Variable<Scalar>
        if contextCount > 0 {
            input = contextStandardization.apply(context)
            if let embedding { input = embedding(input) }
        } else {
            input = tape.constant(Matrix(rows: context.rows, cols: 1, repeating: 1))
        }
        let h = hidden.activation.apply(hidden(input))
        return (logitHead(h), meanHead(h), diagonalHead(h), offDiagonalHead.map { $0(h) })
    }

    @inlinable
    @_specialize(where Scalar == Float)
    public func logProb(_ y: Variable<Scalar>, context: Variable<Scalar>) -> Variable<Scalar> {
        precondition(y.cols == featureCount && context.cols == contextCount && y.rows == context.rows,
                     "y \(y.shapeDescription) and context \(context.shapeDescription) for an MDN of \(featureCount) features and \(contextCount) context values")
        let (logits, means, diagonal, offDiagonal) = mixtureParameters(context)
        let z = featureStandardization.apply(y)
        return gaussianMixtureLogDensity(z, logits: logits, means: means, logDiagonal: diagonal, offDiagonal: offDiagonal)
            + featureStandardization.logAbsDeterminant
    }

    @inlinable
    @_specialize(where Scalar == Float)
    public func sample(_ count: Int, context: Matrix<Scalar>, rng: inout RandomSource) -> Matrix<Scalar> {
        precondition(context.cols == contextCount, "context \(context.shapeDescription) for an MDN with \(contextCount) context values")
        let d = featureCount, kCount = configuration.componentCount
        let tape = Tape<Scalar>(recordsGradients: false)
        let (lv, mv, av, uv) = mixtureParameters(tape.constant(context))
        let logits = lv.value, means = mv.value, logDiagonal = av.value
        let offDiagonal = uv?.value
        let pairs = d * (d - 1) / 2
        var z = Matrix<Scalar>(rows: context.rows * count, cols: d, repeating: 0)
        var v = [Scalar](repeating: 0, count: d)
        for r in 0..<context.rows {
            let weights = (0..<kCount).map { Double(logits[r, $0]) }
            let top = weights.max()!
            let probabilities = weights.map { Double.exp($0 - top) }
            for s in 0..<count {
                let k = rng.categorical(probabilities)
                for i in 0..<d { v[i] = rng.normal(Scalar.self) }
                // Solve U x = v by back-substitution.
                var i = d - 1
                while i >= 0 {
                    var acc = v[i]
                    for j in (i + 1)..<d {
                        acc -= offDiagonal![r, k * pairs + upperIndex(i, j, d)] * z[r * count + s, j]
                    }
                    z[r * count + s, i] = acc / Scalar.exp(logDiagonal[r, k * d + i])
                    i -= 1
                }
                for i in 0..<d { z[r * count + s, i] += means[r, k * d + i] }
            }
        }
        return featureStandardization.invert(z)
    }
}

/// The position of entry (i, j), i < j, among the strictly-upper entries of a d×d matrix
/// stored row by row.
@inlinable
func upperIndex(_ i: Int, _ j: Int, _ d: Int) -> Int {
    i * (2 * d - i - 1) / 2 + (j - i - 1)
}

/// log Σₖ πₖ N(yᵢ; μᵢₖ, (UᵢₖᵀUᵢₖ)⁻¹) of each row i (m×1), as one tape node.
///
/// - Parameters:
///   - y: m × D.
///   - logits: m × K, unnormalised log-weights.
///   - means: m × K·D, component k's mean at columns k·D..<(k+1)·D.
///   - logDiagonal: m × K·D, log of the diagonal of each precision factor U.
///   - offDiagonal: m × K·D(D−1)/2, the strictly-upper entries of each U row by row (nil when D = 1).
@inlinable
public func gaussianMixtureLogDensity<Scalar>(_ y: Variable<Scalar>, logits: Variable<Scalar>, means: Variable<Scalar>,
                                              logDiagonal: Variable<Scalar>, offDiagonal: Variable<Scalar>?) -> Variable<Scalar> {
    let yv = y.value, lv = logits.value, mv = means.value, av = logDiagonal.value
    let uv = offDiagonal?.value
    let (m, d) = (yv.rows, yv.cols)
    let kCount = lv.cols
    let pairs = d * (d - 1) / 2
    precondition(lv.rows == m && mv.rows == m && av.rows == m, "mixture parameters for \(m) rows have other row counts")
    precondition(mv.cols == kCount * d && av.cols == kCount * d, "means \(mv.shapeDescription) and diagonals \(av.shapeDescription) for \(kCount) components of dimension \(d)")
    precondition(pairs == 0 || (uv != nil && uv!.cols == kCount * pairs && uv!.rows == m), "off-diagonal entries for \(kCount) components of dimension \(d)")
    let constant = -Scalar(d) / 2 * Scalar.log(2 * Scalar.pi)

    // Per row and component: the residual r = y − μ, v = U r, the diagonal of U and the
    // component's log-density (with its log-weight), all kept for the backward pass.
    let width = kCount * d
    var residuals = [Scalar](repeating: 0, count: m * width)
    var whitened = [Scalar](repeating: 0, count: m * width)
    var diagonals = [Scalar](repeating: 0, count: m * width)
    var componentLogDensity = [Scalar](repeating: 0, count: m * kCount)
    var weights = [Scalar](repeating: 0, count: m * kCount)
    var out = Matrix<Scalar>(rows: m, cols: 1, repeating: 0)
    av.storage.withUnsafeBufferPointer { a in
        diagonals.withUnsafeMutableBufferPointer { u in Scalar.exp(a, into: u) }
    }
    // The exponentials go through the bulk kernel, all rows at once: per element, libm's
    // expf takes its slow underflow path for the far-off components' tiny terms.
    var shifted = [Scalar](repeating: 0, count: m * kCount)
    var rowMax = [Scalar](repeating: 0, count: m)
    lv.storage.withUnsafeBufferPointer { lb in
        for row in 0..<m {
            var top = -Scalar.infinity
            for k in 0..<kCount { top = Swift.max(top, lb[row * kCount + k]) }
            rowMax[row] = top
            for k in 0..<kCount { shifted[row * kCount + k] = lb[row * kCount + k] - top }
        }
    }
    shifted.withUnsafeBufferPointer { a in weights.withUnsafeMutableBufferPointer { w in Scalar.exp(a, into: w) } }
    yv.storage.withUnsafeBufferPointer { yb in
    lv.storage.withUnsafeBufferPointer { lb in
    mv.storage.withUnsafeBufferPointer { mb in
    av.storage.withUnsafeBufferPointer { ab in
    (uv?.storage ?? []).withUnsafeBufferPointer { ub in
    residuals.withUnsafeMutableBufferPointer { rb in
    whitened.withUnsafeMutableBufferPointer { vb in
    diagonals.withUnsafeBufferPointer { db in
    componentLogDensity.withUnsafeMutableBufferPointer { cb in
    weights.withUnsafeMutableBufferPointer { wb in
    out.storage.withUnsafeMutableBufferPointer { ob in
        for row in 0..<m {
            var total: Scalar = 0
            for k in 0..<kCount { total += wb[row * kCount + k] }
            let logNormalizer = rowMax[row] + Scalar.log(total)
            var best = -Scalar.infinity
            for k in 0..<kCount {
                wb[row * kCount + k] /= total
                let o = row * width + k * d
                var logDet: Scalar = 0
                for i in 0..<d {
                    rb[o + i] = yb[row * d + i] - mb[o + i]
                    logDet += ab[o + i]
                }
                var quadratic: Scalar = 0
                let uo = (row * kCount + k) * pairs
                for i in 0..<d {
                    var s = db[o + i] * rb[o + i]
                    var index = uo + i * (2 * d - i - 1) / 2
                    for j in (i + 1)..<d where j > i {
                        s += ub[index] * rb[o + j]
                        index += 1
                    }
                    vb[o + i] = s
                    quadratic += s * s
                }
                let lp = lb[row * kCount + k] - logNormalizer + logDet + constant - quadratic / 2
                cb[row * kCount + k] = lp
                best = Swift.max(best, lp)
            }
            ob[row] = best
        }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    }
    // log Σₖ exp(lpₖ) = best + log Σₖ exp(lpₖ − best), best (held in `out`) the row's largest.
    out.storage.withUnsafeBufferPointer { ob in
        for row in 0..<m {
            for k in 0..<kCount { shifted[row * kCount + k] = componentLogDensity[row * kCount + k] - ob[row] }
        }
    }
    var terms = [Scalar](repeating: 0, count: m * kCount)
    shifted.withUnsafeBufferPointer { a in terms.withUnsafeMutableBufferPointer { t in Scalar.exp(a, into: t) } }
    out.storage.withUnsafeMutableBufferPointer { ob in
        for row in 0..<m {
            var s: Scalar = 0
            for k in 0..<kCount { s += terms[row * kCount + k] }
            ob[row] += Scalar.log(s)
        }
    }
    let result = out
    var inputs = [y, logits, means, logDiagonal]
    if let offDiagonal { inputs.append(offDiagonal) }
    return y.tape.record(result, inputs: inputs) { tape, g in
        var gy = Matrix<Scalar>(rows: m, cols: d, repeating: 0)
        var gl = Matrix<Scalar>(rows: m, cols: kCount, repeating: 0)
        var gm = Matrix<Scalar>(rows: m, cols: width, repeating: 0)
        var ga = Matrix<Scalar>(rows: m, cols: width, repeating: 0)
        var gu = Matrix<Scalar>(rows: m, cols: kCount * pairs, repeating: 0)
        var utv = [Scalar](repeating: 0, count: d)
        // Each component's responsibility exp(lpₖ − log q), in bulk as in the forward pass.
        var gap = [Scalar](repeating: 0, count: m * kCount)
        result.storage.withUnsafeBufferPointer { ob in
            for row in 0..<m {
                for k in 0..<kCount { gap[row * kCount + k] = componentLogDensity[row * kCount + k] - ob[row] }
            }
        }
        var responsibilities = [Scalar](repeating: 0, count: m * kCount)
        gap.withUnsafeBufferPointer { a in responsibilities.withUnsafeMutableBufferPointer { r in Scalar.exp(a, into: r) } }
        g.storage.withUnsafeBufferPointer { gb in
        result.storage.withUnsafeBufferPointer { ob in
        (uv?.storage ?? []).withUnsafeBufferPointer { ub in
        residuals.withUnsafeBufferPointer { rb in
        whitened.withUnsafeBufferPointer { vb in
        diagonals.withUnsafeBufferPointer { db in
        componentLogDensity.withUnsafeBufferPointer { cb in
        weights.withUnsafeBufferPointer { wb in
        gy.storage.withUnsafeMutableBufferPointer { gyb in
        gl.storage.withUnsafeMutableBufferPointer { glb in
        gm.storage.withUnsafeMutableBufferPointer { gmb in
        ga.storage.withUnsafeMutableBufferPointer { gab in
        gu.storage.withUnsafeMutableBufferPointer { gub in
        utv.withUnsafeMutableBufferPointer { t in
            for row in 0..<m {
                let gRow = gb[row]
                for k in 0..<kCount {
                    // γ = g · responsibility of component k.
                    let gamma = gRow * responsibilities[row * kCount + k]
                    glb[row * kCount + k] = gamma - gRow * wb[row * kCount + k]
                    let o = row * width + k * d
                    let uo = (row * kCount + k) * pairs
                    // Uᵀv, accumulated row by row of U.
                    for j in 0..<d { t[j] = db[o + j] * vb[o + j] }
                    for i in 0..<d {
                        let vi = vb[o + i]
                        var index = uo + i * (2 * d - i - 1) / 2
                        for j in (i + 1)..<d where j > i {
                            t[j] += ub[index] * vi
                            gub[index] = -gamma * vi * rb[o + j]
                            index += 1
                        }
                        gab[o + i] = gamma * (1 - vi * db[o + i] * rb[o + i])
                    }
                    // ∂(−½‖U r‖²)/∂r = −Uᵀv.
                    for j in 0..<d {
                        let gr = -gamma * t[j]
                        gyb[row * d + j] += gr
                        gmb[o + j] = -gr
                    }
                }
            }
        }
        }
        }
        }
        }
        }
        }
        }
        }
        }
        }
        }
        }
        }
        tape.accumulateGradient(gy, into: y)
        tape.accumulateGradient(gl, into: logits)
        tape.accumulateGradient(gm, into: means)
        tape.accumulateGradient(ga, into: logDiagonal)
        if let offDiagonal { tape.accumulateGradient(gu, into: offDiagonal) }
    }
}
