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
    ///
    /// The forward pass keeps what the backward pass needs (bin probabilities, the bin and
    /// the local partial derivatives of each element), so nothing is recomputed, and it
    /// evaluates the softplus of only the two knot derivatives each element uses.
    @inlinable
    public func forward(_ x: Variable<Scalar>, parameters: Variable<Scalar>) -> (output: Variable<Scalar>, logAbsDet: Variable<Scalar>) {
        let xv = x.value, pv = parameters.value
        let (m, d) = (xv.rows, xv.cols)
        let per = parametersPerFeature
        let kCount = binCount
        precondition(pv.rows == m && pv.cols == d * per,
                     "spline parameters \(pv.shapeDescription) for a \(xv.shapeDescription) input: need \(m)x\(d * per)")
        let elements = m * d
        let saved = SplineForwardState<Scalar>(elements: elements, bins: kCount)
        var logDet = Matrix<Scalar>(rows: m, cols: 1, repeating: 0)
        let spread = 1 - minimumBinSize * Scalar(kCount)
        let b = tailBound
        var scratch = [Scalar](repeating: 0, count: kCount)
        let y = Matrix<Scalar>(rows: m, cols: d) { out in
            pv.storage.withUnsafeBufferPointer { p in
            saved.probabilities.withUnsafeMutableBufferPointer { probabilities in
            saved.partials.withUnsafeMutableBufferPointer { partials in
            scratch.withUnsafeMutableBufferPointer { e in
                // Softmax of the K logits at `start` into probabilities[dst...], via the buffer exp kernel.
                func softmax(_ start: Int, _ dst: Int) {
                    var top = -Scalar.infinity
                    for j in 0..<kCount { top = Swift.max(top, logitScale * p[start + j]) }
                    for j in 0..<kCount { e[j] = logitScale * p[start + j] - top }
                    Scalar.exp(UnsafeBufferPointer(e), into: e)
                    var total: Scalar = 0
                    for j in 0..<kCount { total += e[j] }
                    let inverse = 1 / total
                    for j in 0..<kCount { probabilities[dst + j] = e[j] * inverse }
                }
                // Knot position j (0 < j < K) from the probabilities at `src`.
                for r in 0..<m {
                    var ld: Scalar = 0
                    for i in 0..<d {
                        let element = r * d + i
                        let v = xv.storage[element]
                        if v < -b || v > b {
                            out[element] = v
                            saved.bins[element] = -1
                            continue
                        }
                        let base = element * per
                        let wp = element * 2 * kCount, hp = wp + kCount
                        softmax(base, wp)
                        softmax(base + kCount, hp)
                        // Walk the x-knots to the bin, accumulating its left knot.
                        var k = 0
                        var left: Scalar = 0   // Σ_{l<k} (minimum + spread·p_l)
                        var width = minimumBinSize + spread * probabilities[wp]
                        while k < kCount - 1 && v >= 2 * b * (left + width) - b {
                            left += width
                            k += 1
                            width = minimumBinSize + spread * probabilities[wp + k]
                        }
                        let xk = 2 * b * left - b
                        let xk1 = k == kCount - 1 ? b : 2 * b * (left + width) - b
                        var below: Scalar = 0
                        for l in 0..<k { below += minimumBinSize + spread * probabilities[hp + l] }
                        let yk = 2 * b * below - b
                        let yk1 = k == kCount - 1 ? b : 2 * b * (below + minimumBinSize + spread * probabilities[hp + k]) - b
                        let uBase = base + 2 * kCount - 1     // u_j is the derivative at knot j (1…K−1)
                        var dk: Scalar = 1, dk1: Scalar = 1, sk: Scalar = 0, sk1: Scalar = 0
                        if k > 0 {
                            dk = minimumDerivative + Variable<Scalar>.softplus(p[uBase + k])
                            sk = Variable<Scalar>.sigmoid(p[uBase + k])
                        }
                        if k + 1 < kCount {
                            dk1 = minimumDerivative + Variable<Scalar>.softplus(p[uBase + k + 1])
                            sk1 = Variable<Scalar>.sigmoid(p[uBase + k + 1])
                        }
                        let local = evaluate(v, bin: k, xk: xk, w: xk1 - xk, yk: yk, h: yk1 - yk, dk: dk, dk1: dk1)
                        out[element] = local.value
                        ld += local.logDerivative
                        saved.bins[element] = k
                        let q = element * SplineForwardState<Scalar>.partialCount
                        partials[q] = local.dValue.x; partials[q + 1] = local.dValue.xk; partials[q + 2] = local.dValue.w
                        partials[q + 3] = local.dValue.h; partials[q + 4] = local.dValue.dk; partials[q + 5] = local.dValue.dk1
                        partials[q + 6] = local.dLog.x; partials[q + 7] = local.dLog.xk; partials[q + 8] = local.dLog.w
                        partials[q + 9] = local.dLog.h; partials[q + 10] = local.dLog.dk; partials[q + 11] = local.dLog.dk1
                        partials[q + 12] = sk; partials[q + 13] = sk1
                    }
                    logDet.storage[r] = ld
                }
            }
            }
            }
            }
        }
        // One backward computes the gradients of both outputs; each node stores its
        // upstream gradient here and the later-recorded node (log-det, run first)
        // leaves its share for the output node to apply.
        let pending = PendingGradient<Scalar>()
        let outputNode = x.tape.record(y, inputs: x, parameters) { tape, g in
            backward(saved, rows: m, features: d, outputGradient: g, logDetGradient: pending.value,
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

    @inlinable
    func backward(_ saved: SplineForwardState<Scalar>, rows m: Int, features d: Int, outputGradient g: Matrix<Scalar>,
                  logDetGradient gLogDet: Matrix<Scalar>?, tape: Tape<Scalar>,
                  xNode: Variable<Scalar>, parametersNode: Variable<Scalar>) {
        let per = parametersPerFeature
        let kCount = binCount
        let needP = tape.needsGradient(parametersNode)
        let spread = 1 - minimumBinSize * Scalar(kCount)
        let knotScale = 2 * tailBound * spread
        var gx = Matrix<Scalar>(rows: m, cols: d, repeating: 0)
        var gp = Matrix<Scalar>(rows: m, cols: needP ? d * per : 0, repeating: 0)
        saved.probabilities.withUnsafeBufferPointer { probabilities in
        saved.partials.withUnsafeBufferPointer { partials in
        gp.storage.withUnsafeMutableBufferPointer { gpOut in
            // Softmax backward when only knots k and k+1 have gradients gk, gk1: the
            // gradient of probability l is knotScale·(Σ of those knots right of bin l),
            // knots 0 and K being fixed.
            func softmaxBackward(_ k: Int, _ gk: Scalar, _ gk1: Scalar, _ src: Int, _ dst: Int) {
                let movableK: Scalar = k > 0 ? gk : 0
                let movableK1: Scalar = k + 1 < kCount ? gk1 : 0
                var total: Scalar = 0
                for l in 0..<kCount {
                    var gl: Scalar = 0
                    if k > l { gl += movableK }
                    if k + 1 > l { gl += movableK1 }
                    gpOut[dst + l] = knotScale * gl        // temporarily the probability gradient
                    total += gpOut[dst + l] * probabilities[src + l]
                }
                for l in 0..<kCount {
                    gpOut[dst + l] = logitScale * probabilities[src + l] * (gpOut[dst + l] - total)
                }
            }
            for r in 0..<m {
                let gl = gLogDet?.storage[r] ?? 0
                for i in 0..<d {
                    let element = r * d + i
                    let gy = g.storage[element]
                    let k = saved.bins[element]
                    if k < 0 {
                        gx.storage[element] = gy
                        continue
                    }
                    let q = element * SplineForwardState<Scalar>.partialCount
                    func combined(_ o: Int) -> Scalar { gy * partials[q + o] + gl * partials[q + 6 + o] }
                    gx.storage[element] = combined(0)
                    guard needP else { continue }
                    let gW = combined(2), gH = combined(3)
                    // w = x_{k+1} − x_k and h = y_{k+1} − y_k.
                    let base = element * per
                    let wp = element * 2 * kCount
                    softmaxBackward(k, combined(1) - gW, gW, wp, base)
                    softmaxBackward(k, gy - gH, gH, wp + kCount, base + kCount)
                    let uBase = base + 2 * kCount - 1
                    if k > 0 { gpOut[uBase + k] = combined(4) * partials[q + 12] }
                    if k + 1 < kCount { gpOut[uBase + k + 1] = combined(5) * partials[q + 13] }
                }
            }
        }
        }
        }
        if tape.needsGradient(xNode) { tape.accumulateGradient(gx, into: xNode) }
        if needP { tape.accumulateGradient(gp, into: parametersNode) }
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
    func evaluate(_ v: Scalar, bin k: Int, xk: Scalar, w: Scalar, yk: Scalar, h: Scalar, dk: Scalar, dk1: Scalar) -> LocalEvaluation {
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

/// What the spline's forward pass keeps for its backward pass.
@usableFromInline
final class SplineForwardState<Scalar: TensorScalar> {
    /// ∂value and ∂log-derivative with respect to x, x_k, w, h, δ_k, δ_{k+1}, then σ(u) at knots k and k+1.
    @usableFromInline static var partialCount: Int { 14 }
    /// The bin of each element, or −1 outside the interval.
    @usableFromInline var bins: [Int]
    /// The width then height probabilities of each element (2K each).
    @usableFromInline var probabilities: [Scalar]
    @usableFromInline var partials: [Scalar]

    @inlinable init(elements: Int, bins binCount: Int) {
        bins = Array(repeating: -1, count: elements)
        probabilities = Array(repeating: 0, count: elements * 2 * binCount)
        partials = Array(repeating: 0, count: elements * Self.partialCount)
    }
}
