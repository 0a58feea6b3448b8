import ILITensor
import RealModule

/// The two-moons task of the SBI benchmark: a crescent-shaped, bimodal posterior.
///
/// θ ~ U(−1, 1)², a ~ U(−π/2, π/2), r ~ N(0.1, 0.01²),
/// x = (r cos a + 0.25 − |θ₁ + θ₂|/√2, r sin a + (θ₂ − θ₁)/√2).
public struct TwoMoons: ReferenceTask {
    public init() {}

    public var thetaDimension: Int { 2 }
    public var xDimension: Int { 2 }
    public var prior: any Prior { try! PriorSpecification.uniform(low: [-1, -1], high: [1, 1]).makePrior() }

    public func simulate(_ theta: Matrix<Double>, rng: inout RandomSource) -> Matrix<Double> {
        precondition(theta.cols == 2, "two moons takes θ of width 2, got \(theta.cols)")
        return Matrix(rows: theta.rows, cols: 2) { out in
            for i in 0..<theta.rows {
                let a = rng.uniform(in: -Double.pi / 2, Double.pi / 2)
                let r = 0.1 + 0.01 * rng.normal()
                let (t1, t2) = (theta[i, 0], theta[i, 1])
                out[2 * i] = r * Double.cos(a) + 0.25 - Swift.abs(t1 + t2) / 2.0.squareRoot()
                out[2 * i + 1] = r * Double.sin(a) + (t2 - t1) / 2.0.squareRoot()
            }
        }
    }

    /// Exact posterior samples by inverting the simulator: draw the noise (a, r), solve
    /// for the two θ that give x, pick one at random, and keep it when inside the prior.
    /// The map from θ to x is piecewise linear with constant Jacobian, so this samples
    /// the posterior exactly.
    public func referencePosterior(_ count: Int, observation x: [Double], rng: inout RandomSource) throws -> Matrix<Double> {
        precondition(x.count == 2)
        var rows: [Double] = []
        rows.reserveCapacity(2 * count)
        var attempts = 0
        while rows.count < 2 * count {
            attempts += 1
            if attempts > 10_000 * count + 1_000_000 {
                throw PosteriorError(.samplingFailed, "the observation (\(x[0]), \(x[1])) is outside what two moons can produce")
            }
            let a = rng.uniform(in: -Double.pi / 2, Double.pi / 2)
            let r = 0.1 + 0.01 * rng.normal()
            let u0 = x[0] - (r * Double.cos(a) + 0.25)
            let u1 = x[1] - r * Double.sin(a)
            guard u0 <= 0 else { continue }
            let s = -2.0.squareRoot() * u0            // |θ₁ + θ₂|
            let d = 2.0.squareRoot() * u1             // θ₂ − θ₁
            let sum = rng.uniform() < 0.5 ? s : -s
            let t1 = (sum - d) / 2, t2 = (sum + d) / 2
            guard Swift.abs(t1) <= 1, Swift.abs(t2) <= 1 else { continue }
            rows += [t1, t2]
        }
        return Matrix(rows: count, cols: 2, rows)
    }
}
