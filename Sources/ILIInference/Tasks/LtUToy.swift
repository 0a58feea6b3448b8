import ILITensor
import RealModule

/// The three-parameter toy of LtU-ILI's tutorials: θ ~ U(0, 1)³ and, at t = 0, 1, …, 9,
/// xₜ = 3θ₀ sin t + θ₁ t² − 2θ₂ t + εₜ with εₜ ~ N(0, 1).
///
/// x is linear in θ with unit Gaussian noise, so the exact posterior is a Gaussian (mean
/// (AᵀA)⁻¹Aᵀx, precision AᵀA, where row t of A is (3 sin t, t², −2t)) truncated to the unit
/// cube, which `referencePosterior` samples by rejection.
public struct LtUToy: ReferenceTask {
    public init() {}

    public static let times: [Double] = (0..<10).map(Double.init)

    public var thetaDimension: Int { 3 }
    public var xDimension: Int { Self.times.count }
    public var prior: any Prior { try! PriorSpecification.uniform(low: [0, 0, 0], high: [1, 1, 1]).makePrior() }

    /// Row t of the design matrix A.
    static func design(_ t: Double) -> [Double] { [3 * Double.sin(t), t * t, -2 * t] }

    public func simulate(_ theta: Matrix<Double>, rng: inout RandomSource) -> Matrix<Double> {
        precondition(theta.cols == 3, "the LtU toy takes θ of width 3, got \(theta.cols)")
        return Matrix(rows: theta.rows, cols: xDimension) { i, j in
            let a = Self.design(Self.times[j])
            return a[0] * theta[i, 0] + a[1] * theta[i, 1] + a[2] * theta[i, 2] + rng.normal()
        }
    }

    public func referencePosterior(_ count: Int, observation x: [Double], rng: inout RandomSource) throws -> Matrix<Double> {
        precondition(x.count == xDimension)
        // Precision P = AᵀA and b = Aᵀx; mean μ solves P μ = b.
        var p = Matrix<Double>(rows: 3, cols: 3, repeating: 0)
        var b = [Double](repeating: 0, count: 3)
        for (t, xt) in zip(Self.times, x) {
            let a = Self.design(t)
            for i in 0..<3 {
                b[i] += a[i] * xt
                for j in 0..<3 { p[i, j] += a[i] * a[j] }
            }
        }
        let l = try Cholesky.lowerFactor(of: p)
        // Forward then back substitution: L y = b, Lᵀ μ = y.
        func forward(_ v: [Double]) -> [Double] {
            var y = v
            for i in 0..<3 { for k in 0..<i { y[i] -= l[i, k] * y[k] }; y[i] /= l[i, i] }
            return y
        }
        func backward(_ v: [Double]) -> [Double] {
            var y = v
            for i in stride(from: 2, through: 0, by: -1) { for k in (i + 1)..<3 { y[i] -= l[k, i] * y[k] }; y[i] /= l[i, i] }
            return y
        }
        let mean = backward(forward(b))
        var rows: [Double] = []
        rows.reserveCapacity(3 * count)
        var attempts = 0
        while rows.count < 3 * count {
            attempts += 1
            if attempts > 1_000 * count + 1_000_000 {
                throw PosteriorError(.samplingFailed, "the LtU toy's posterior at this observation has almost no mass inside the unit cube")
            }
            // θ = μ + L⁻ᵀ z has covariance P⁻¹.
            let offset = backward([rng.normal(), rng.normal(), rng.normal()])
            let theta = (0..<3).map { mean[$0] + offset[$0] }
            if theta.allSatisfy({ $0 >= 0 && $0 <= 1 }) { rows += theta }
        }
        return Matrix(rows: count, cols: 3, rows)
    }
}
