import RealModule

/// A fixed affine layer `(x − mean) / std` fitted to training data, so that a saved
/// model carries its own z-scoring.
///
/// For the modelled variable y the layer is part of the flow and contributes its
/// log-determinant `−Σ log std`; for the context it is a fixed input transformation.
///
/// ```swift
/// let z = Standardization<Float>.fitted(to: trainingY)
/// let u = z.apply(tape.constant(batch))
/// let back = z.invert(u.value)                  // the batch again
/// ```
public struct Standardization<Scalar: TensorScalar>: Sendable {
    /// 1 × d means.
    public var mean: Matrix<Scalar>
    /// 1 × d standard deviations (strictly positive).
    public var standardDeviation: Matrix<Scalar>

    public init(mean: Matrix<Scalar>, standardDeviation: Matrix<Scalar>) {
        precondition(mean.rows == 1 && standardDeviation.rows == 1 && mean.cols == standardDeviation.cols,
                     "standardization mean \(mean.shapeDescription) and std \(standardDeviation.shapeDescription) must be rows of one length")
        self.mean = mean
        self.standardDeviation = standardDeviation
    }

    /// The identity: mean 0, std 1.
    public static func identity(_ dimension: Int) -> Standardization {
        Standardization(mean: Matrix(rows: 1, cols: dimension, repeating: 0),
                        standardDeviation: Matrix(rows: 1, cols: dimension, repeating: 1))
    }

    /// Mean and (unbiased) standard deviation of each column of `data`.
    ///
    /// With `structured`, one mean and std over all columns (for time series or spectra
    /// whose entries share a scale). Deviations below `minimumStandardDeviation` are raised
    /// to it so that constant columns do not divide by zero.
    public static func fitted(to data: Matrix<Scalar>, structured: Bool = false,
                              minimumStandardDeviation: Scalar = 1e-7) -> Standardization {
        let n = data.rows, d = data.cols
        precondition(n >= 2, "z-scoring needs at least two rows of data, got \(n)")
        var means = [Double](repeating: 0, count: d)
        var squares = [Double](repeating: 0, count: d)
        for i in 0..<n {
            for j in 0..<d { means[j] += Double(data.storage[i * d + j]) }
        }
        if structured {
            let m = means.reduce(0, +) / Double(n * d)
            var s = 0.0
            for x in data.storage { s += (Double(x) - m) * (Double(x) - m) }
            let std = Swift.max(Scalar((s / Double(n * d - 1)).squareRoot()), minimumStandardDeviation)
            return Standardization(mean: Matrix(rows: 1, cols: d, repeating: Scalar(m)),
                                   standardDeviation: Matrix(rows: 1, cols: d, repeating: std))
        }
        for j in 0..<d { means[j] /= Double(n) }
        for i in 0..<n {
            for j in 0..<d {
                let r = Double(data.storage[i * d + j]) - means[j]
                squares[j] += r * r
            }
        }
        return Standardization(
            mean: Matrix(rows: 1, cols: d, means.map { Scalar($0) }),
            standardDeviation: Matrix(rows: 1, cols: d, squares.map {
                Swift.max(Scalar(($0 / Double(n - 1)).squareRoot()), minimumStandardDeviation)
            }))
    }

    @inlinable public var dimension: Int { mean.cols }

    /// `(x − mean) / std` on the tape, as one operation.
    @inlinable
    public func apply(_ x: Variable<Scalar>) -> Variable<Scalar> {
        let v = x.value
        precondition(v.cols == dimension, "standardizing \(v.shapeDescription) rows with a \(dimension)-dimensional z-score")
        let inverseStd = standardDeviation.map { 1 / $0 }
        let (m, d) = (v.rows, v.cols)
        let mu = mean
        let y = Matrix<Scalar>(rows: m, cols: d) { out in
            for i in 0..<m {
                for j in 0..<d { out[i * d + j] = (v.storage[i * d + j] - mu.storage[j]) * inverseStd.storage[j] }
            }
        }
        return x.tape.record(y, inputs: x) { tape, g in
            tape.accumulateGradient(Matrix.broadcast(g, inverseStd, *), into: x)
        }
    }

    /// `(x − mean) / std` on plain matrices.
    @inlinable
    public func apply(_ x: Matrix<Scalar>) -> Matrix<Scalar> {
        Matrix.broadcast(Matrix.broadcast(x, mean, -), standardDeviation, /)
    }

    /// `x · std + mean`: the inverse.
    @inlinable
    public func invert(_ z: Matrix<Scalar>) -> Matrix<Scalar> {
        Matrix.broadcast(Matrix.broadcast(z, standardDeviation, *), mean, +)
    }

    /// log |det ∂z/∂x| = −Σ log std, the same for every row.
    @inlinable
    public var logAbsDeterminant: Scalar {
        var s: Scalar = 0
        for v in standardDeviation.storage { s -= Scalar.log(v) }
        return s
    }
}
