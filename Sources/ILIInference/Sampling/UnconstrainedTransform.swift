import Foundation
import ILITensor

/// Maps a prior's support to ℝᵈ so that samplers never step outside it: a scaled logistic
/// for a two-sided interval, θ = lower + e^u or θ = upper − e^u for a one-sided one, and
/// the identity for ℝ.
///
/// A density p(θ) becomes p(T(u)) · |dθ/du| in u, so a sampler runs on the potential plus
/// `logAbsDetJacobian(u)` (what `unconstrainedTarget` builds) and its draws map back
/// through `constrained`.
///
/// ```swift
/// let transform = UnconstrainedTransform(bounds: prior.supportBounds)
/// let target = transform.unconstrainedTarget(potential)
/// let run = try runMCMC(settings, target: target, initial: transform.unconstrained(starts),
///                       groups: 1, count: 1000, rng: &rng)
/// let theta = transform.constrained(run.samples[0])
/// ```
public struct UnconstrainedTransform: Sendable {
    public let bounds: [SupportInterval]

    public init(bounds: [SupportInterval]) {
        self.bounds = bounds
    }

    /// Whether every parameter is unbounded, so that u = θ.
    public var isIdentity: Bool { bounds.allSatisfy { !$0.isBounded } }

    /// θ = T(u), row by row.
    public func constrained(_ u: Matrix<Double>) -> Matrix<Double> {
        map(u) { j, v in
            let b = bounds[j]
            switch (b.lower.isFinite, b.upper.isFinite) {
            case (true, true): return b.lower + (b.upper - b.lower) * logistic(v)
            case (true, false): return b.lower + Foundation.exp(v)
            case (false, true): return b.upper - Foundation.exp(v)
            case (false, false): return v
            }
        }
    }

    /// u = T⁻¹(θ), row by row, for θ inside the support (NaN outside). A θ on a finite end
    /// maps to ±745, where T gives that end back, rather than to ±∞.
    public func unconstrained(_ theta: Matrix<Double>) -> Matrix<Double> {
        map(theta) { j, v in
            let b = bounds[j]
            let u: Double
            switch (b.lower.isFinite, b.upper.isFinite) {
            case (true, true):
                // log(θ − l) − log(u − θ): no cancellation near either end.
                u = Foundation.log(v - b.lower) - Foundation.log(b.upper - v)
            case (true, false): u = Foundation.log(v - b.lower)
            case (false, true): u = Foundation.log(b.upper - v)
            case (false, false): u = v
            }
            return u.isInfinite && b.isBounded ? (u > 0 ? 745 : -745) : u
        }
    }

    /// log |dθ/du| of each row: add it to a log-density of θ to get the density of u.
    public func logAbsDetJacobian(_ u: Matrix<Double>) -> [Double] {
        precondition(u.cols == bounds.count, "u of width \(u.cols) for \(bounds.count) parameters")
        return (0..<u.rows).map { i in
            var sum = 0.0
            for (j, b) in bounds.enumerated() {
                let v = u[i, j]
                switch (b.lower.isFinite, b.upper.isFinite) {
                case (true, true):
                    // dθ/du = (upper − lower) σ(u) σ(−u), and log σ(u) = −softplus(−u).
                    sum += Foundation.log(b.upper - b.lower) - softplus(v) - softplus(-v)
                case (true, false), (false, true): sum += v
                case (false, false): break
                }
            }
            return sum
        }
    }

    /// The log-density of u given `target`, a log-density of θ: target(T(u)) + log |dθ/du|,
    /// with the same rows and groups.
    public func unconstrainedTarget(_ target: @escaping BatchedLogDensity) -> BatchedLogDensity {
        if isIdentity { return target }
        return { u in
            let values = try target(self.constrained(u))
            let jacobian = self.logAbsDetJacobian(u)
            return zip(values, jacobian).map { $0 + $1 }
        }
    }

    private func map(_ m: Matrix<Double>, _ f: (Int, Double) -> Double) -> Matrix<Double> {
        precondition(m.cols == bounds.count, "rows of width \(m.cols) for \(bounds.count) parameters")
        return Matrix(rows: m.rows, cols: m.cols) { out in
            for i in 0..<m.rows {
                for j in 0..<m.cols { out[i * m.cols + j] = f(j, m.storage[i * m.cols + j]) }
            }
        }
    }
}

/// 1 / (1 + e^−x), without overflow for large |x|.
private func logistic(_ x: Double) -> Double {
    x >= 0 ? 1 / (1 + Foundation.exp(-x)) : Foundation.exp(x) / (1 + Foundation.exp(x))
}

/// log(1 + e^x), without overflow for large x.
private func softplus(_ x: Double) -> Double {
    x > 0 ? x + Foundation.log1p(Foundation.exp(-x)) : Foundation.log1p(Foundation.exp(x))
}
