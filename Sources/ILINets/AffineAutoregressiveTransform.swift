import RealModule

/// One step of a masked autoregressive flow: `z = y · s(y<i, c) + t(y<i, c)` per feature,
/// with `s = softplus(u) + 10⁻³`: positive, and unbounded so that a step can widen as
/// well as narrow.
///
/// The density direction (y → z) is one MADE pass; sampling inverts one feature at a
/// time, D passes.
public final class AffineAutoregressiveTransform<Scalar: TensorScalar> {
    public let made: MADE<Scalar>

    public init(features: Int, context: Int, hidden: Int, blocks: Int, activation: Activation,
                residual: Bool = false, rng: inout RandomSource, name: String) {
        made = MADE(features: features, context: context, hidden: hidden, blocks: blocks,
                    outputsPerFeature: 2, activation: activation, residual: residual, contextOnlyUnits: false,
                    rng: &rng, name: name)
    }

    public var parameters: [Parameter<Scalar>] { made.parameters }

    @inlinable
    public func forward(_ y: Variable<Scalar>, context: Variable<Scalar>?) -> (Variable<Scalar>, Variable<Scalar>) {
        let params = made(y, context: context)
        return AffineAutoregressiveTransform.affine(y, params)
    }

    @inlinable
    public func inverse(_ z: Matrix<Scalar>, context: Variable<Scalar>?, tape: Tape<Scalar>) -> Matrix<Scalar> {
        let d = made.featureCount
        var y = Matrix<Scalar>(rows: z.rows, cols: d, repeating: 0)
        // Feature i's scale and shift depend on features < i only, so after pass i
        // feature i is exact; D passes give all of them.
        for i in 0..<d {
            let params = made(tape.constant(y), context: context).value
            for r in 0..<z.rows {
                let u = params.storage[r * 2 * d + i], t = params.storage[r * 2 * d + d + i]
                let s = Self.scale(u)
                y.storage[r * d + i] = (z.storage[r * d + i] - t) / s
            }
        }
        return y
    }

    @inlinable
    static func scale(_ u: Scalar) -> Scalar {
        Variable<Scalar>.softplus(u) + Scalar(1e-3)
    }

    /// The fused affine step: from y (m×D) and MADE outputs (m×2D, scales then shifts),
    /// z (m×D) and log|det| (m×1), each one tape node with a hand-written backward.
    @inlinable
    public static func affine(_ y: Variable<Scalar>, _ params: Variable<Scalar>) -> (Variable<Scalar>, Variable<Scalar>) {
        let yv = y.value, pv = params.value
        let (m, d) = (yv.rows, yv.cols)
        precondition(pv.rows == m && pv.cols == 2 * d, "affine parameters \(pv.shapeDescription) for a \(yv.shapeDescription) batch")
        // s and ds/du = σ(u) of every element, shared by both nodes.
        var scales = Matrix<Scalar>(rows: m, cols: d, repeating: 0)
        var slopes = Matrix<Scalar>(rows: m, cols: d, repeating: 0)
        var logDet = Matrix<Scalar>(rows: m, cols: 1, repeating: 0)
        var z = Matrix<Scalar>(rows: m, cols: d, repeating: 0)
        pv.storage.withUnsafeBufferPointer { p in
        yv.storage.withUnsafeBufferPointer { yb in
        scales.storage.withUnsafeMutableBufferPointer { sb in
        slopes.storage.withUnsafeMutableBufferPointer { slb in
        z.storage.withUnsafeMutableBufferPointer { out in
        logDet.storage.withUnsafeMutableBufferPointer { lb in
            for r in 0..<m {
                var ld: Scalar = 0
                for i in 0..<d {
                    let u = p[r * 2 * d + i]
                    let s = Variable<Scalar>.softplus(u) + Scalar(1e-3)
                    sb[r * d + i] = s
                    slb[r * d + i] = Variable<Scalar>.sigmoid(u)
                    out[r * d + i] = yb[r * d + i] * s + p[r * 2 * d + d + i]
                    ld += Scalar.log(s)
                }
                lb[r] = ld
            }
        }
        }
        }
        }
        }
        }
        let zNode = y.tape.record(z, inputs: y, params) { tape, g in
            if tape.needsGradient(y) { tape.accumulateGradient(g.zip(scales, *), into: y) }
            if tape.needsGradient(params) {
                let gp = Matrix<Scalar>(rows: m, cols: 2 * d) { out in
                    g.storage.withUnsafeBufferPointer { gb in
                    yv.storage.withUnsafeBufferPointer { yb in
                    slopes.storage.withUnsafeBufferPointer { slb in
                        for r in 0..<m {
                            for i in 0..<d {
                                let gi = gb[r * d + i]
                                out[r * 2 * d + i] = gi * yb[r * d + i] * slb[r * d + i]
                                out[r * 2 * d + d + i] = gi
                            }
                        }
                    }
                    }
                    }
                }
                tape.accumulateGradient(gp, into: params)
            }
        }
        let ldNode = y.tape.record(logDet, inputs: params) { tape, g in
            let gp = Matrix<Scalar>(rows: m, cols: 2 * d) { out in
                g.storage.withUnsafeBufferPointer { gb in
                slopes.storage.withUnsafeBufferPointer { slb in
                scales.storage.withUnsafeBufferPointer { sb in
                    for r in 0..<m {
                        for i in 0..<d {
                            out[r * 2 * d + i] = gb[r] * slb[r * d + i] / sb[r * d + i]
                            out[r * 2 * d + d + i] = 0
                        }
                    }
                }
                }
                }
            }
            tape.accumulateGradient(gp, into: params)
        }
        return (zNode, ldNode)
    }
}

/// A fixed reordering of the features: output column j is input column `order[j]`.
public struct PermutationTransform: Sendable {
    public let order: [Int]
    public let inverseOrder: [Int]

    public init(order: [Int]) {
        precondition(Set(order) == Set(0..<order.count), "\(order) is not a permutation of 0..<\(order.count)")
        self.order = order
        var inv = [Int](repeating: 0, count: order.count)
        for (j, i) in order.enumerated() { inv[i] = j }
        inverseOrder = inv
    }

    @inlinable
    public func forward<Scalar>(_ x: Variable<Scalar>) -> Variable<Scalar> { x.gatherColumns(order) }

    @inlinable
    public func inverse<Scalar>(_ z: Matrix<Scalar>) -> Matrix<Scalar> {
        Matrix(rows: z.rows, cols: z.cols) { i, j in z[i, inverseOrder[j]] }
    }
}
