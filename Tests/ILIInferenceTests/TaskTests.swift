import ILIInference
import RealModule
import XCTest

final class TaskTests: XCTestCase {
    /// Exact two-moons posterior samples, pushed back through the simulator's noise-free map,
    /// must land on the observed crescent; and a simulated x is always reachable.
    func testTwoMoonsReferencePosteriorInvertsTheSimulator() throws {
        let task = TwoMoons()
        var rng = RandomSource(seed: 1)
        let theta = Matrix<Double>([[0.3, -0.4]])
        let x = task.simulate(theta, rng: &rng)
        let samples = try task.referencePosterior(4000, observation: x.row(0), rng: &rng)
        XCTAssertTrue(task.prior.contains(samples).allSatisfy { $0 })
        for i in 0..<samples.rows {
            // x − g(θ) = (r cos a + 0.25, r sin a) must have radius r ≈ 0.1 ± 5·0.01 and cos a ≥ 0.
            let (t1, t2) = (samples[i, 0], samples[i, 1])
            let px = x[0, 0] + Swift.abs(t1 + t2) / 2.0.squareRoot() - 0.25
            let py = x[0, 1] - (t2 - t1) / 2.0.squareRoot()
            let radius = (px * px + py * py).squareRoot()
            XCTAssertEqual(radius, 0.1, accuracy: 0.06)
            XCTAssertGreaterThanOrEqual(px, -1e-12)
        }
        // The posterior is bimodal: the two branches θ₁ + θ₂ = ±s both appear about equally.
        let positive = (0..<samples.rows).filter { samples[$0, 0] + samples[$0, 1] > 0 }.count
        XCTAssertEqual(Double(positive) / Double(samples.rows), 0.5, accuracy: 0.1)
        // The true θ lies on the crescent: its distance to the nearest sample is small.
        let nearest = (0..<samples.rows).map { i in
            Double.hypot(samples[i, 0] - 0.3, samples[i, 1] + 0.4)
        }.min()!
        XCTAssertLessThan(nearest, 0.05)
    }

    func testGaussianLinearReferenceMatchesTheConjugateFormula() throws {
        let task = GaussianLinear()
        XCTAssertEqual(task.posteriorShrinkage, 0.5, accuracy: 1e-12)
        XCTAssertEqual(task.posteriorVariance, 0.05, accuracy: 1e-12)
        var rng = RandomSource(seed: 2)
        let x = Array(repeating: 0.4, count: 10)
        let s = try task.referencePosterior(20_000, observation: x, rng: &rng)
        var mean = 0.0, sq = 0.0
        for i in 0..<s.rows { mean += s[i, 3]; sq += s[i, 3] * s[i, 3] }
        mean /= 20_000
        XCTAssertEqual(mean, 0.2, accuracy: 5 * 0.05.squareRoot() / 20_000.0.squareRoot())
        XCTAssertEqual(sq / 20_000 - mean * mean, 0.05, accuracy: 0.003)
        // Simulations have the stated noise around θ.
        let (theta, xs) = task.simulations(20_000, rng: &rng)
        var noise = 0.0
        for i in 0..<theta.rows { noise += (xs[i, 0] - theta[i, 0]) * (xs[i, 0] - theta[i, 0]) }
        XCTAssertEqual(noise / 20_000, 0.1, accuracy: 0.005)
    }

    /// LtU-ILI's toy: the reference posterior is the Gaussian with precision AᵀA around the
    /// least-squares θ, truncated to the unit cube. At a noise-free x its mean is the true θ,
    /// and its covariance inverts AᵀA; near a face of the cube every sample stays inside.
    func testLtUToyReferencePosteriorIsTheTruncatedGaussian() throws {
        let task = LtUToy()
        let times = LtUToy.times
        func noiseFree(_ theta: [Double]) -> [Double] {
            times.map { t in 3 * theta[0] * Double.sin(t) + theta[1] * t * t - 2 * theta[2] * t }
        }
        var rng = RandomSource(seed: 3)
        let n = 20_000
        let s = try task.referencePosterior(n, observation: noiseFree([0.5, 0.5, 0.5]), rng: &rng)
        XCTAssertTrue(task.prior.contains(s).allSatisfy { $0 })
        var mean = [0.0, 0.0, 0.0]
        for i in 0..<n { for j in 0..<3 { mean[j] += s[i, j] / Double(n) } }
        // Posterior standard deviations are about 0.17, 0.034 and 0.12: the truth is within 5 standard errors.
        for j in 0..<3 {
            let sd = ((0..<n).reduce(0.0) { $0 + (s[$1, j] - mean[j]) * (s[$1, j] - mean[j]) } / Double(n - 1)).squareRoot()
            XCTAssertEqual(mean[j], 0.5, accuracy: 5 * sd / Double(n).squareRoot(), "θ\(j)")
        }
        // Whitened by the precision AᵀA = L Lᵀ, w = Lᵀ(θ − mean) has identity covariance (the
        // truncation, 3 standard deviations out, and sampling noise move it by about 0.02).
        var precision = Matrix<Double>(rows: 3, cols: 3, repeating: 0)
        for t in times {
            let a = [3 * Double.sin(t), t * t, -2 * t]
            for j in 0..<3 { for k in 0..<3 { precision[j, k] += a[j] * a[k] } }
        }
        let l = try Cholesky.lowerFactor(of: precision)
        var whitened = Matrix<Double>(rows: 3, cols: 3, repeating: 0)
        for i in 0..<n {
            let w = (0..<3).map { j in (0..<3).reduce(0.0) { $0 + l[$1, j] * (s[i, $1] - mean[$1]) } }
            for j in 0..<3 { for k in 0..<3 { whitened[j, k] += w[j] * w[k] / Double(n - 1) } }
        }
        for j in 0..<3 {
            for k in 0..<3 { XCTAssertEqual(whitened[j, k], j == k ? 1 : 0, accuracy: 0.06, "whitened covariance [\(j), \(k)]") }
        }
        // θ₀ = 0.05 puts 38% of the untruncated Gaussian below 0: no sample may be there.
        let edge = try task.referencePosterior(5_000, observation: noiseFree([0.05, 0.5, 0.5]), rng: &rng)
        XCTAssertTrue(task.prior.contains(edge).allSatisfy { $0 })
        XCTAssertLessThan((0..<edge.rows).map { edge[$0, 0] }.min()!, 0.02)
    }
}
