import RealModule

/// Monotonic rational-quadratic splines on [−B, B] with identity tails: the element-wise
/// bijection of neural spline flows, as one fused tape operation.
///
/// Each transformed feature has `3K − 1` unconstrained parameters, laid out
/// `[widths (K), heights (K), interior derivatives (K − 1)]`. Widths and heights go
/// through a softmax, are floored at `minimumBinSize` and scaled to the interval; the
/// derivatives at the K − 1 interior knots are `minimumDerivative + softplus(·)`, and
/// the two boundary derivatives are 1 so the spline joins the identity tails smoothly.
///
/// ```swift
/// let spline = RationalQuadraticSpline<Float>(binCount: 10, tailBound: 3)
/// let (z, logDet) = spline.forward(x, parameters: p)     // x: m×d, p: m×(d·29)
/// let back = spline.inverse(z.value, parameters: p.value)  // x again
/// ```
public struct RationalQuadraticSpline<Scalar: TensorScalar>: Sendable {
    public let binCount: Int
    public let tailBound: Scalar
    public let minimumBinSize: Scalar
    public let minimumDerivative: Scalar
    /// Width and height parameters are multiplied by this before the softmax (a coupling
    /// uses 1/√hidden so that a fresh conditioner gives nearly uniform bins).
    public let logitScale: Scalar

    public init(binCount: Int = 10, tailBound: Scalar = 3, minimumBinSize: Scalar = 1e-3,
                minimumDerivative: Scalar = 1e-3, logitScale: Scalar = 1) {
        precondition(binCount >= 2 && Scalar(binCount) * minimumBinSize < 1, "\(binCount) bins of minimum size \(minimumBinSize) do not fit")
        self.binCount = binCount
        self.tailBound = tailBound
        self.minimumBinSize = minimumBinSize
        self.minimumDerivative = minimumDerivative
        self.logitScale = logitScale
    }

    /// Unconstrained parameters per transformed feature.
    @inlinable public var parametersPerFeature: Int { 3 * binCount - 1 }

    /// The knots of one feature's spline: K+1 x-positions, y-positions and derivatives,
    /// plus the softmax probabilities of widths and heights (kept for the backward pass).
    @usableFromInline
    struct Knots {
        @usableFromInline var xs: [Scalar]
        @usableFromInline var ys: [Scalar]
        @usableFromInline var derivatives: [Scalar]
        @usableFromInline var widthProbabilities: [Scalar]
        @usableFromInline var heightProbabilities: [Scalar]

        @inlinable init(count k: Int) {
            xs = Array(repeating: 0, count: k + 1)
            ys = xs
            derivatives = xs
            widthProbabilities = Array(repeating: 0, count: k)
            heightProbabilities = widthProbabilities
        }
    }

    /// Fills `knots` from the parameters of one feature starting at `p[offset]`.
    @inlinable
    func makeKnots(_ p: UnsafeBufferPointer<Scalar>, offset: Int, into knots: inout Knots) {
        let k = binCount
        let b = tailBound
        let spread = 1 - minimumBinSize * Scalar(k)
        func fill(_ start: Int, _ probabilities: inout [Scalar], _ positions: inout [Scalar]) {
            var top = -Scalar.infinity
            for j in 0..<k { top = Swift.max(top, logitScale * p[start + j]) }
            var total: Scalar = 0
            for j in 0..<k {
                let e = Scalar.exp(logitScale * p[start + j] - top)
                probabilities[j] = e
                total += e
            }
            var cumulative: Scalar = 0
            positions[0] = -b
            for j in 0..<k {
                probabilities[j] /= total
                cumulative += minimumBinSize + spread * probabilities[j]
                positions[j + 1] = 2 * b * cumulative - b
            }
            // Pin the last knot to the bound exactly, whatever the rounding.
            positions[k] = b
        }
        fill(offset, &knots.widthProbabilities, &knots.xs)
        fill(offset + k, &knots.heightProbabilities, &knots.ys)
        knots.derivatives[0] = 1
        knots.derivatives[k] = 1
        for j in 1..<k {
            let u = p[offset + 2 * k + j - 1]
            knots.derivatives[j] = minimumDerivative + Variable<Scalar>.softplus(u)
        }
    }

    /// The bin of `value` among `positions[0...K]` (value inside the interval).
    @inlinable
    func bin(of value: Scalar, in positions: [Scalar]) -> Int {
        var j = 0
        while j < binCount - 1 && value >= positions[j + 1] { j += 1 }
        return j
    }

    /// The spline of every transformed feature applied to `x` (m×d), and the sum of the
    /// log-derivatives of each row (m×1). Both are tape nodes whose backward passes reach
    /// x and the parameters (m × d·(3K−1)).
    @inlinable
    public func forward(_ x: Variable<Scalar>, parameters: Variable<Scalar>) -> (output: Variable<Scalar>, logAbsDet: Variable<Scalar>) {
        let xv = x.value, pv = parameters.value
        let (m, d) = (xv.rows, xv.cols)
        let per = parametersPerFeature
        precondition(pv.rows == m && pv.cols == d * per,
                     "spline parameters \(pv.shapeDescription) for a \(xv.shapeDescription) input: need \(m)x\(d * per)")
        var knots = Knots(count: binCount)
        var logDet = Matrix<Scalar>(rows: m, cols: 1, repeating: 0)
        let y = Matrix<Scalar>(rows: m, cols: d) { out in
            pv.storage.withUnsafeBufferPointer { p in
                for r in 0..<m {
                    var ld: Scalar = 0
                    for i in 0..<d {
                        let v = xv.storage[r * d + i]
                        if v < -tailBound || v > tailBound {
                            out[r * d + i] = v
                            continue
                        }
                        makeKnots(p, offset: (r * d + i) * per, into: &knots)
                        let local = evaluate(v, knots)
                        out[r * d + i] = local.value
                        ld += local.logDerivative
                    }
                    logDet.storage[r] = ld
                }
            }
        }
        // One backward computes the gradients of both outputs; each node stores its
        // upstream gradient here and the later-recorded node (log-det, run first)
        // leaves its share for the output node to apply.
        let pending = PendingGradient<Scalar>()
        let outputNode = x.tape.record(y, inputs: x, parameters) { tape, g in
            backward(x: xv, parameters: pv, outputGradient: g, logDetGradient: pending.value,
                     tape: tape, xNode: x, parametersNode: parameters)
            pending.value = nil
        }
        let logDetNode = x.tape.record(logDet, inputs: outputNode) { tape, g in
            pending.value = g
            // Make sure the output node's backward runs even when only the log-det is used.
            if tape.needsGradient(outputNode) {
                tape.accumulateGradient(Matrix(rows: m, cols: d, repeating: 0), into: outputNode)
            }
        }
        return (outputNode, logDetNode)
    }

    /// The local value and log-derivative of one spline, with the partial derivatives of
    /// both with respect to the bin's quantities.
    @usableFromInline
    struct LocalEvaluation {
        @usableFromInline var value: Scalar
        @usableFromInline var logDerivative: Scalar
        @usableFromInline var bin: Int
        // ∂value and ∂logDerivative with respect to x, left knot x, bin width,
        // left knot y (value only, ∂ = 1), bin height, left and right derivatives.
        @usableFromInline var dValue: (x: Scalar, xk: Scalar, w: Scalar, h: Scalar, dk: Scalar, dk1: Scalar)
        @usableFromInline var dLog: (x: Scalar, xk: Scalar, w: Scalar, h: Scalar, dk: Scalar, dk1: Scalar)

        @inlinable init(value: Scalar, logDerivative: Scalar, bin: Int,
                        dValue: (x: Scalar, xk: Scalar, w: Scalar, h: Scalar, dk: Scalar, dk1: Scalar),
                        dLog: (x: Scalar, xk: Scalar, w: Scalar, h: Scalar, dk: Scalar, dk1: Scalar)) {
            self.value = value
            self.logDerivative = logDerivative
            self.bin = bin
            self.dValue = dValue
            self.dLog = dLog
        }
    }

    @inlinable
    func evaluate(_ v: Scalar, _ knots: Knots) -> LocalEvaluation {
        let k = bin(of: v, in: knots.xs)
        let xk = knots.xs[k], w = knots.xs[k + 1] - knots.xs[k]
        let yk = knots.ys[k], h = knots.ys[k + 1] - knots.ys[k]
        let dk = knots.derivatives[k], dk1 = knots.derivatives[k + 1]
        let s = h / w
        let xi = (v - xk) / w
        let t = xi * (1 - xi)
        let delta = dk + dk1 - 2 * s
        let numerator = h * (s * xi * xi + dk * t)
        let denominator = s + delta * t
        let value = yk + numerator / denominator
        let n = dk1 * xi * xi + 2 * s * t + dk * (1 - xi) * (1 - xi)
        let logDerivative = 2 * Scalar.log(s) + Scalar.log(n) - 2 * Scalar.log(denominator)

        // Partials through ξ and s, then ξ = (x − xk)/w and s = h/w.
        let den2 = denominator * denominator
        let vXi = h * s * n / den2
        let vS = (h * xi * xi * denominator - numerator * (1 - 2 * t)) / den2
        let vH = (s * xi * xi + dk * t) / denominator
        let vDk = (h * t * denominator - numerator * t) / den2
        let vDk1 = -numerator * t / den2
        let nXi = 2 * dk1 * xi + 2 * s * (1 - 2 * xi) - 2 * dk * (1 - xi)
        let denXi = delta * (1 - 2 * xi)
        let lXi = nXi / n - 2 * denXi / denominator
        let lS = 2 / s + 2 * t / n - 2 * (1 - 2 * t) / denominator
        let lDk = (1 - xi) * (1 - xi) / n - 2 * t / denominator
        let lDk1 = xi * xi / n - 2 * t / denominator
        let inverseW = 1 / w
        return LocalEvaluation(
            value: value, logDerivative: logDerivative, bin: k,
            dValue: (x: vXi * inverseW, xk: -vXi * inverseW, w: -(vXi * xi + vS * s) * inverseW,
                     h: vH + vS * inverseW, dk: vDk, dk1: vDk1),
            dLog: (x: lXi * inverseW, xk: -lXi * inverseW, w: -(lXi * xi + lS * s) * inverseW,
                   h: lS * inverseW, dk: lDk, dk1: lDk1))
    }

    @inlinable
    func backward(x xv: Matrix<Scalar>, parameters pv: Matrix<Scalar>, outputGradient g: Matrix<Scalar>,
                  logDetGradient gLogDet: Matrix<Scalar>?, tape: Tape<Scalar>,
                  xNode: Variable<Scalar>, parametersNode: Variable<Scalar>) {
        let (m, d) = (xv.rows, xv.cols)
        let per = parametersPerFeature
        let kCount = binCount
        let needX = tape.needsGradient(xNode), needP = tape.needsGradient(parametersNode)
        var gx = Matrix<Scalar>(rows: m, cols: d, repeating: 0)
        var gp = Matrix<Scalar>(rows: m, cols: d * per, repeating: 0)
        var knots = Knots(count: kCount)
        // Gradients with respect to the knot positions and derivatives of one feature.
        var gXs = [Scalar](repeating: 0, count: kCount + 1)
        var gYs = gXs
        var gDerivatives = gXs
        let spread = 1 - minimumBinSize * Scalar(kCount)
        pv.storage.withUnsafeBufferPointer { p in
            for r in 0..<m {
                let gl = gLogDet?.storage[r] ?? 0
                for i in 0..<d {
                    let v = xv.storage[r * d + i]
                    let gy = g.storage[r * d + i]
                    if v < -tailBound || v > tailBound {
                        gx.storage[r * d + i] = gy
                        continue
                    }
                    let base = (r * d + i) * per
                    makeKnots(p, offset: base, into: &knots)
                    let e = evaluate(v, knots)
                    func combined(_ a: Scalar, _ b: Scalar) -> Scalar { gy * a + gl * b }
                    gx.storage[r * d + i] = combined(e.dValue.x, e.dLog.x)
                    guard needP else { continue }
                    let k = e.bin
                    for j in 0...kCount { gXs[j] = 0; gYs[j] = 0; gDerivatives[j] = 0 }
                    let gW = combined(e.dValue.w, e.dLog.w)
                    let gH = combined(e.dValue.h, e.dLog.h)
                    // w = xs[k+1] − xs[k], h = ys[k+1] − ys[k].
                    gXs[k] += combined(e.dValue.xk, e.dLog.xk) - gW
                    gXs[k + 1] += gW
                    gYs[k] += gy - gH
                    gYs[k + 1] += gH
                    gDerivatives[k] += combined(e.dValue.dk, e.dLog.dk)
                    gDerivatives[k + 1] += combined(e.dValue.dk1, e.dLog.dk1)
                    // Knot j (0 < j < K) is −B + 2B·Σ_{l<j} (minimum + spread·p_l); the end
                    // knots are fixed. So ∂/∂p_l = 2B·spread·Σ_{j>l, j<K} ∂/∂knot_j,
                    // then through the softmax.
                    func softmaxBackward(_ gKnots: [Scalar], _ probabilities: [Scalar], _ start: Int) {
                        var gProbabilities = [Scalar](repeating: 0, count: kCount)
                        var running: Scalar = 0
                        var l = kCount - 1
                        while l >= 0 {
                            // running = Σ of the movable knots right of bin l (l+1 … K−1).
                            gProbabilities[l] = 2 * tailBound * spread * running
                            if l >= 1 { running += gKnots[l] }
                            l -= 1
                        }
                        var total: Scalar = 0
                        for l in 0..<kCount { total += gProbabilities[l] * probabilities[l] }
                        for l in 0..<kCount {
                            gp.storage[base + start + l] = logitScale * probabilities[l] * (gProbabilities[l] - total)
                        }
                    }
                    softmaxBackward(gXs, knots.widthProbabilities, 0)
                    softmaxBackward(gYs, knots.heightProbabilities, kCount)
                    for j in 1..<kCount {
                        let u = p[base + 2 * kCount + j - 1]
                        gp.storage[base + 2 * kCount + j - 1] = gDerivatives[j] * Variable<Scalar>.sigmoid(u)
                    }
                }
            }
        }
        if needX { tape.accumulateGradient(gx, into: xNode) }
        if needP { tape.accumulateGradient(gp, into: parametersNode) }
    }

    /// The inverse spline of every feature of `z` (m×d), without gradients (sampling).
    @inlinable
    public func inverse(_ z: Matrix<Scalar>, parameters pv: Matrix<Scalar>) -> Matrix<Scalar> {
        let (m, d) = (z.rows, z.cols)
        let per = parametersPerFeature
        precondition(pv.rows == m && pv.cols == d * per,
                     "spline parameters \(pv.shapeDescription) for a \(z.shapeDescription) input: need \(m)x\(d * per)")
        var knots = Knots(count: binCount)
        return Matrix(rows: m, cols: d) { out in
            pv.storage.withUnsafeBufferPointer { p in
                for r in 0..<m {
                    for i in 0..<d {
                        let v = z.storage[r * d + i]
                        if v < -tailBound || v > tailBound {
                            out[r * d + i] = v
                            continue
                        }
                        makeKnots(p, offset: (r * d + i) * per, into: &knots)
                        let k = bin(of: v, in: knots.ys)
                        let xk = knots.xs[k], w = knots.xs[k + 1] - knots.xs[k]
                        let yk = knots.ys[k], h = knots.ys[k + 1] - knots.ys[k]
                        let dk = knots.derivatives[k], dk1 = knots.derivatives[k + 1]
                        let s = h / w
                        let offset = v - yk
                        let delta = dk + dk1 - 2 * s
                        // ξ solves a·ξ² + b·ξ + c = 0; the root below avoids cancellation.
                        let a = h * (s - dk) + offset * delta
                        let b = h * dk - offset * delta
                        let c = -s * offset
                        let discriminant = Swift.max(b * b - 4 * a * c, 0)
                        let xi = (2 * c) / (-b - Scalar.sqrt(discriminant))
                        out[r * d + i] = xk + xi * w
                    }
                }
            }
        }
    }
}

/// A gradient handed from one node's backward to an earlier node's.
@usableFromInline
final class PendingGradient<Scalar: TensorScalar> {
    @usableFromInline var value: Matrix<Scalar>?
    @inlinable init() {}
}
