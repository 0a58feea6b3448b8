import ILITensor
import XCTest

/// Compares the tape's gradients with central finite differences, all in Double.
///
/// The checked function's output is contracted with fixed random weights so that
/// every output element contributes a different upstream gradient.
func assertGradientsMatchFiniteDifferences(
    _ inputs: [Matrix<Double>],
    step: Double = 1e-6,
    tolerance: Double = 1e-6,
    seed: UInt64 = 42,
    file: StaticString = #filePath, line: UInt = #line,
    _ function: (Tape<Double>, [Variable<Double>]) -> Variable<Double>
) {
    // Upstream weights, shaped after one probe evaluation.
    let probe = Tape<Double>()
    let probeOut = function(probe, inputs.map { probe.constant($0) }).value
    var rng = RandomSource(seed: seed)
    let weights: Matrix<Double> = rng.normalMatrix(rows: probeOut.rows, cols: probeOut.cols)

    func loss(_ xs: [Matrix<Double>]) -> Double {
        let tape = Tape<Double>()
        let out = function(tape, xs.map { tape.constant($0) }).value
        return out.zip(weights, *).storage.reduce(0, +)
    }

    let tape = Tape<Double>()
    let variables = inputs.map { tape.input($0) }
    let out = function(tape, variables)
    let contracted = (out * tape.constant(weights)).sum()
    tape.backward(from: contracted)
    XCTAssertEqual(contracted.value.scalar, loss(inputs), accuracy: 1e-9, "forward passes disagree", file: file, line: line)

    for (k, input) in inputs.enumerated() {
        let analytic = tape.gradient(of: variables[k]) ?? Matrix(rows: input.rows, cols: input.cols, repeating: 0)
        XCTAssertEqual(analytic.rows, input.rows, file: file, line: line)
        XCTAssertEqual(analytic.cols, input.cols, file: file, line: line)
        var worst = 0.0
        for i in 0..<input.count {
            var plus = inputs, minus = inputs
            plus[k].storage[i] += step
            minus[k].storage[i] -= step
            let numeric = (loss(plus) - loss(minus)) / (2 * step)
            let error = abs(analytic.storage[i] - numeric) / max(1, abs(numeric))
            worst = max(worst, error)
        }
        XCTAssertLessThan(worst, tolerance, "input \(k) (\(input.shapeDescription)): worst relative gradient error \(worst)",
                          file: file, line: line)
    }
}

/// A random matrix with entries uniform on [low, high).
func randomMatrix(_ rows: Int, _ cols: Int, seed: UInt64, low: Double = -2, high: Double = 2) -> Matrix<Double> {
    var rng = RandomSource(seed: seed)
    return rng.uniformMatrix(rows: rows, cols: cols, low: low, high: high)
}

/// Entries of magnitude in [0.5, 2] with random signs: away from zero, for division and kinks.
func awayFromZero(_ rows: Int, _ cols: Int, seed: UInt64) -> Matrix<Double> {
    var rng = RandomSource(seed: seed)
    return Matrix(rows: rows, cols: cols) { _, _ in
        let magnitude: Double = rng.uniform(in: 0.5, 2)
        return rng.uniform() < 0.5 ? -magnitude : magnitude
    }
}
