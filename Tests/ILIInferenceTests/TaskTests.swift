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
}
