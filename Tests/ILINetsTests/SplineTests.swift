import ILINets
import XCTest

final class SplineTests: XCTestCase {
    let spline = RationalQuadraticSpline<Double>(binCount: 5, tailBound: 3, logitScale: 0.7)

    /// Inputs spread over the interval and beyond it (identity tails), with random parameters.
    func inputs(rows: Int, features: Int, seed: UInt64) -> (Matrix<Double>, Matrix<Double>) {
        var rng = RandomSource(seed: seed)
        let x: Matrix<Double> = rng.uniformMatrix(rows: rows, cols: features, low: -3.6, high: 3.6)
        let p: Matrix<Double> = rng.normalMatrix(rows: rows, cols: features * spline.parametersPerFeature)
        return (x, p)
    }

    func testForwardGradientsMatchFiniteDifferences() {
        let (x, p) = inputs(rows: 6, features: 2, seed: 1)
        // Output and log-det together, so both halves of the fused backward are checked.
        checkGradients([x, p], tolerance: 1e-5) { tape, v in
            let (y, logDet) = spline.forward(v[0], parameters: v[1])
            return tape.concatColumns([y, logDet])
        }
        checkGradients([x, p], tolerance: 1e-5) { _, v in spline.forward(v[0], parameters: v[1]).logAbsDet }
        checkGradients([x, p], tolerance: 1e-5) { _, v in spline.forward(v[0], parameters: v[1]).output }
    }

    func testInverseUndoesForwardAndTailsAreIdentity() {
        let (x, p) = inputs(rows: 200, features: 3, seed: 2)
        let tape = Tape<Double>()
        let y = spline.forward(tape.constant(x), parameters: tape.constant(p)).output.value
        let back = spline.inverse(y, parameters: p)
        for i in 0..<x.count {
            XCTAssertEqual(back.storage[i], x.storage[i], accuracy: 1e-9)
            if abs(x.storage[i]) > 3 { XCTAssertEqual(y.storage[i], x.storage[i]) }
            else { XCTAssertLessThanOrEqual(abs(y.storage[i]), 3 + 1e-12) }
        }
    }

    func testLogDerivativeMatchesFiniteDifference() {
        let (x, p) = inputs(rows: 50, features: 1, seed: 3)
        let tape = Tape<Double>()
        let ld = spline.forward(tape.constant(x), parameters: tape.constant(p)).logAbsDet.value
        for r in 0..<x.rows {
            let h = 1e-6
            func f(_ v: Double) -> Double {
                let t = Tape<Double>()
                return spline.forward(t.constant(Matrix(rows: 1, cols: 1, [v])), parameters: t.constant(Matrix(rows: 1, cols: p.cols, p.row(r)))).output.value.scalar
            }
            let numeric = log((f(x.storage[r] + h) - f(x.storage[r] - h)) / (2 * h))
            XCTAssertEqual(ld.storage[r], numeric, accuracy: 1e-5, "row \(r), x = \(x.storage[r])")
        }
    }

    func testFloatSplineIsMonotoneAndInvertible() {
        let floatSpline = RationalQuadraticSpline<Float>(binCount: 10, tailBound: 3)
        var rng = RandomSource(seed: 4)
        let p: Matrix<Float> = rng.normalMatrix(rows: 1, cols: floatSpline.parametersPerFeature)
        let xs = (0..<400).map { Float(-3.5) + Float($0) * 7 / 400 }
        let tape = Tape<Float>()
        let params = tape.constant(Matrix(rows: xs.count, cols: p.cols) { _, j in p.storage[j] })
        let y = floatSpline.forward(tape.constant(Matrix(rows: xs.count, cols: 1, xs)), parameters: params).output.value
        for i in 1..<xs.count { XCTAssertGreaterThan(y.storage[i], y.storage[i - 1]) }
        let back = floatSpline.inverse(y, parameters: params.value)
        for i in 0..<xs.count { XCTAssertEqual(back.storage[i], xs[i], accuracy: 2e-5) }
    }
}
