import ILITensor
import RealModule

/// A multivariate normal prior N(mean, cov) with a full covariance.
public struct MultivariateNormalPrior: Prior {
    public let mean: [Double]
    /// The lower Cholesky factor L of the covariance (cov = L Lᵀ), row-major.
    public let choleskyFactor: Matrix<Double>
    public let specification: PriorSpecification
    let logNormaliser: Double

    /// - Throws: `CholeskyError` when `covariance` is not symmetric positive definite.
    public init(mean: [Double], covariance: Matrix<Double>, specification: PriorSpecification) throws {
        precondition(covariance.rows == mean.count && covariance.cols == mean.count)
        self.mean = mean
        self.choleskyFactor = try Cholesky.lowerFactor(of: covariance)
        self.specification = specification
        var logDet = 0.0
        for i in 0..<mean.count { logDet += Double.log(choleskyFactor[i, i]) }
        logNormaliser = -logDet - Double(mean.count) / 2 * Double.log(2 * Double.pi)
    }

    public var dimension: Int { mean.count }
    public var supportBounds: [SupportInterval] { Array(repeating: .real, count: dimension) }

    public func logProb(_ theta: Matrix<Double>) -> [Double] {
        precondition(theta.cols == dimension, "θ of width \(theta.cols) for a \(dimension)-parameter prior")
        let d = dimension
        return (0..<theta.rows).map { i in
            // Solve L z = θ − μ by forward substitution; log p = −|z|²/2 + const.
            var z = [Double](repeating: 0, count: d)
            var squared = 0.0
            for r in 0..<d {
                var s = theta[i, r] - mean[r]
                for c in 0..<r { s -= choleskyFactor[r, c] * z[c] }
                z[r] = s / choleskyFactor[r, r]
                squared += z[r] * z[r]
            }
            let lp = logNormaliser - squared / 2
            return lp.isNaN ? -.infinity : lp
        }
    }

    public func sample(_ count: Int, rng: inout RandomSource) -> Matrix<Double> {
        let d = dimension
        let eps: Matrix<Double> = rng.normalMatrix(rows: count, cols: d)
        var out = Matrix.product(eps, choleskyFactor, transposeB: true)
        for i in 0..<count { for j in 0..<d { out[i, j] += mean[j] } }
        return out
    }
}

/// The Cholesky factorisation of a symmetric positive definite matrix, in double precision.
public enum Cholesky {
    public struct NotPositiveDefinite: Error, CustomStringConvertible {
        /// The first row at which the factorisation failed.
        public let row: Int
        public var description: String {
            "matrix is not symmetric positive definite (the Cholesky factorisation fails at row \(row + 1))"
        }
    }

    /// L with A = L Lᵀ, L lower triangular with a positive diagonal.
    public static func lowerFactor(of a: Matrix<Double>) throws -> Matrix<Double> {
        let n = a.rows
        precondition(a.cols == n, "Cholesky of a non-square \(a.shapeDescription) matrix")
        for i in 0..<n {
            for j in 0..<i where Swift.abs(a[i, j] - a[j, i]) > 1e-10 * Swift.max(1, Swift.abs(a[i, j])) {
                throw NotPositiveDefinite(row: i)
            }
        }
        var l = Matrix<Double>(rows: n, cols: n, repeating: 0)
        for i in 0..<n {
            for j in 0...i {
                var s = a[i, j]
                for k in 0..<j { s -= l[i, k] * l[j, k] }
                if i == j {
                    guard s > 0 && s.isFinite else { throw NotPositiveDefinite(row: i) }
                    l[i, i] = s.squareRoot()
                } else {
                    l[i, j] = s / l[j, j]
                }
            }
        }
        return l
    }
}
