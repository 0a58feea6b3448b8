import RealModule

/// A learnable invertible linear map `z = x · (LU)ᵀ + b` with L unit lower-triangular and
/// U upper-triangular with diagonal `softplus(·) + 10⁻³`, so log|det| = Σ log Uᵢᵢ and
/// the inverse is two triangular solves. Starts at the identity.
public final class LULinearTransform<Scalar: TensorScalar> {
    /// Strictly-lower entries of L (the rest of the matrix is ignored).
    public let lower: Parameter<Scalar>
    /// Strictly-upper entries of U (the rest of the matrix is ignored).
    public let upper: Parameter<Scalar>
    /// Unconstrained diagonal of U (1 × d).
    public let diagonal: Parameter<Scalar>
    public let bias: Parameter<Scalar>
    @usableFromInline let dimension: Int
    @usableFromInline static var diagonalFloor: Scalar { 1e-3 }

    public init(features d: Int, name: String) {
        dimension = d
        lower = Parameter(Matrix(rows: d, cols: d, repeating: 0), name: "\(name).lower")
        upper = Parameter(Matrix(rows: d, cols: d, repeating: 0), name: "\(name).upper")
        // softplus⁻¹(1 − floor), so the diagonal starts at exactly 1.
        let start = Scalar.log(Scalar.expMinusOne(1 - Self.diagonalFloor))
        diagonal = Parameter(Matrix(rows: 1, cols: d, repeating: start), name: "\(name).diagonal")
        bias = Parameter(Matrix(rows: 1, cols: d, repeating: 0), name: "\(name).bias")
    }

    public var parameters: [Parameter<Scalar>] { [lower, upper, diagonal, bias] }

    /// W = L·U from the three parameter matrices, and log|det W|, as tape nodes.
    @inlinable
    func weight(tape: Tape<Scalar>) -> (Variable<Scalar>, Variable<Scalar>) {
        let lv = tape.read(lower), uv = tape.read(upper), dv = tape.read(diagonal)
        let d = dimension
        let (l, u) = Self.factors(lv.value, uv.value, dv.value)
        let w = Matrix.product(l, u)
        let wNode = tape.record(w, inputs: lv, uv, dv) { tape, g in
            // ∂L = (g Uᵀ) strictly lower, ∂U = (Lᵀ g) upper; the diagonal through softplus.
            let gl = Matrix.product(g, u, transposeB: true)
            let gu = Matrix.product(l, g, transposeA: true)
            tape.accumulateGradient(Matrix(rows: d, cols: d) { i, j in i > j ? gl[i, j] : 0 }, into: lv)
            tape.accumulateGradient(Matrix(rows: d, cols: d) { i, j in i < j ? gu[i, j] : 0 }, into: uv)
            tape.accumulateGradient(Matrix(rows: 1, cols: d) { _, j in
                gu[j, j] * Variable<Scalar>.sigmoid(dv.value.storage[j])
            }, into: dv)
        }
        var logDet: Scalar = 0
        for j in 0..<d { logDet += Scalar.log(u[j, j]) }
        let ldNode = tape.record(Matrix(scalar: logDet), inputs: dv) { tape, g in
            tape.accumulateGradient(Matrix(rows: 1, cols: d) { _, j in
                g.scalar * Variable<Scalar>.sigmoid(dv.value.storage[j]) / u[j, j]
            }, into: dv)
        }
        return (wNode, ldNode)
    }

    @inlinable
    static func factors(_ lower: Matrix<Scalar>, _ upper: Matrix<Scalar>, _ diagonal: Matrix<Scalar>) -> (Matrix<Scalar>, Matrix<Scalar>) {
        let d = lower.rows
        let l = Matrix<Scalar>(rows: d, cols: d) { i, j in i > j ? lower[i, j] : (i == j ? 1 : 0) }
        let u = Matrix<Scalar>(rows: d, cols: d) { i, j in
            i < j ? upper[i, j] : (i == j ? Variable<Scalar>.softplus(diagonal.storage[j]) + diagonalFloor : 0)
        }
        return (l, u)
    }

    @inlinable
    public func forward(_ x: Variable<Scalar>) -> (Variable<Scalar>, Variable<Scalar>) {
        let (w, logDet) = weight(tape: x.tape)
        let z = x.linear(w, bias: x.tape.read(bias))
        // The same log-det for every row.
        return (z, x.tape.constant(Matrix(rows: x.rows, cols: 1, repeating: 1)).matmul(logDet))
    }

    /// x from z by solving L U xᵀ = (z − b)ᵀ row by row.
    @inlinable
    public func inverse(_ z: Matrix<Scalar>) -> Matrix<Scalar> {
        let d = dimension
        let (l, u) = Self.factors(lower.value, upper.value, diagonal.value)
        var x = Matrix<Scalar>(rows: z.rows, cols: d, repeating: 0)
        var t = [Scalar](repeating: 0, count: d)
        for r in 0..<z.rows {
            for i in 0..<d {
                var s = z[r, i] - bias.value.storage[i]
                for j in 0..<i { s -= l[i, j] * t[j] }
                t[i] = s
            }
            var i = d - 1
            while i >= 0 {
                var s = t[i]
                for j in (i + 1)..<d { s -= u[i, j] * x[r, j] }
                x[r, i] = s / u[i, i]
                i -= 1
            }
        }
        return x
    }
}
