import ILITensor
import XCTest

final class OptimizerTests: XCTestCase {
    /// Adam's first step moves each coordinate by lr·sign(g) (m̂/√v̂ = g/|g|), whatever |g|.
    func testFirstAdamStepIsLearningRateTimesSign() {
        let p = Parameter<Double>(Matrix([[1, -2, 3]]))
        p.gradient = Matrix([[0.5, -40, 1e-3]])
        var adam = Adam(parameters: [p], learningRate: 0.1, epsilon: 0)
        adam.step()
        XCTAssertEqual(p.value.storage[0], 0.9, accuracy: 1e-12)
        XCTAssertEqual(p.value.storage[1], -1.9, accuracy: 1e-12)
        XCTAssertEqual(p.value.storage[2], 2.9, accuracy: 1e-12)
        XCTAssertNil(p.gradient, "step clears the gradients")
        XCTAssertEqual(adam.stepCount, 1)
    }

    /// Two steps against the recurrences written out by hand.
    func testSecondStepFollowsTheBiasCorrectedMoments() {
        let p = Parameter<Double>(Matrix(scalar: 0))
        var adam = Adam(parameters: [p], learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8)
        p.gradient = Matrix(scalar: 2); adam.step()
        p.gradient = Matrix(scalar: -1); adam.step()
        let m = 0.9 * (0.1 * 2) + 0.1 * -1
        let v = 0.999 * (0.001 * 4) + 0.001 * 1
        let step2 = 0.01 / (1 - 0.81) * m / ((v / (1 - 0.999 * 0.999)).squareRoot() + 1e-8)
        let step1 = 0.01 / (1 - 0.9) * 0.2 / ((0.004 / (1 - 0.999)).squareRoot() + 1e-8)
        XCTAssertEqual(p.value.scalar, -step1 - step2, accuracy: 1e-14)
    }

    func testWeightDecayVariants() {
        // L2: the decay enters the gradient, so with g = 0 the first step is still lr·sign(θ).
        let a = Parameter<Double>(Matrix(scalar: 2)); a.gradient = Matrix(scalar: 0)
        var adamL2 = Adam(parameters: [a], learningRate: 0.1, epsilon: 0, weightDecay: .l2(0.5))
        adamL2.step()
        XCTAssertEqual(a.value.scalar, 1.9, accuracy: 1e-12)
        // Decoupled: θ shrinks by lr·rate before the Adam update.
        let b = Parameter<Double>(Matrix(scalar: 2)); b.gradient = Matrix(scalar: 1)
        var adamW = Adam(parameters: [b], learningRate: 0.1, epsilon: 0, weightDecay: .decoupled(0.5))
        adamW.step()
        XCTAssertEqual(b.value.scalar, 2 * (1 - 0.05) - 0.1, accuracy: 1e-12)
    }

    func testParametersWithoutGradientsAreLeftAlone() {
        let p = Parameter<Float>(Matrix(scalar: 5)), q = Parameter<Float>(Matrix(scalar: 5))
        q.gradient = Matrix(scalar: 1)
        var adam = Adam(parameters: [p, q], learningRate: 0.1)
        adam.step()
        XCTAssertEqual(p.value.scalar, 5)
        XCTAssertNotEqual(q.value.scalar, 5)
    }

    func testAdamMinimisesALeastSquaresProblem() {
        // Fit w in y = x·wᵀ; the exact solution is known.
        var rng = RandomSource(seed: 5)
        let x: Matrix<Float> = rng.normalMatrix(rows: 64, cols: 3)
        let truth = Matrix<Float>([[1.5, -2, 0.5]])
        let y = Matrix.product(x, truth, transposeB: true)
        let w = Parameter<Float>(Matrix(rows: 1, cols: 3, repeating: 0))
        var adam = Adam(parameters: [w], learningRate: 0.05)
        for _ in 0..<600 {
            let t = Tape<Float>()
            let loss = (t.constant(x).linear(t.read(w), bias: nil) - t.constant(y)).square().mean()
            t.backward(from: loss)
            adam.step()
        }
        for j in 0..<3 { XCTAssertEqual(w.value.storage[j], truth.storage[j], accuracy: 1e-3) }
    }

    func testClipGradientNormScalesJointlyAndReportsTheNorm() {
        let a = Parameter<Double>(Matrix([[3, 0]])), b = Parameter<Double>(Matrix(scalar: 0))
        a.gradient = Matrix([[3, 0]]); b.gradient = Matrix(scalar: 4)
        let norm = clipGradientNorm([a, b], maxNorm: 1)
        XCTAssertEqual(norm, 5, accuracy: 1e-12)
        XCTAssertEqual(a.gradient!.storage[0], 0.6, accuracy: 1e-6)
        XCTAssertEqual(b.gradient!.scalar, 0.8, accuracy: 1e-6)
        // Below the limit nothing changes.
        XCTAssertEqual(clipGradientNorm([a, b], maxNorm: 10), 1, accuracy: 1e-5)
        XCTAssertEqual(b.gradient!.scalar, 0.8, accuracy: 1e-6)
    }

    func testLinearInitialisationMatchesPyTorchBounds() {
        var rng = RandomSource(seed: 6)
        let w = Parameter<Float>.linearWeight(outputs: 50, inputs: 16, rng: &rng)
        let b = Parameter<Float>.linearBias(outputs: 50, inputs: 16, rng: &rng)
        XCTAssertEqual(w.value.rows, 50); XCTAssertEqual(w.value.cols, 16)
        XCTAssertEqual(b.value.rows, 1); XCTAssertEqual(b.value.cols, 50)
        let bound: Float = 0.25
        XCTAssertTrue(w.value.storage.allSatisfy { abs($0) <= bound })
        XCTAssertTrue(b.value.storage.allSatisfy { abs($0) <= bound })
        // Uniform on ±0.25 has variance 0.25²/3; 800 draws estimate it within ~10%.
        let variance = w.value.storage.map { Double($0 * $0) }.reduce(0, +) / 800
        XCTAssertEqual(variance, 0.0625 / 3, accuracy: 0.0625 / 3 * 0.15)
        XCTAssertGreaterThan(w.value.storage.map(abs).max()!, 0.24)
    }
}
