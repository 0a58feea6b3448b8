import Foundation
import ILITensor
import XCTest

/// The vectorized float kernels against double-precision libm over dense grids.
final class FastFloatMathTests: XCTestCase {
    func grid(_ low: Double, _ high: Double, _ count: Int) -> [Float] {
        (0..<count).map { Float(low + (high - low) * Double($0) / Double(count - 1)) }
    }

    func testExpIsWithinAFewUlpAcrossTheRange() {
        var worst = 0.0
        for x in grid(-87, 88, 200_001) + grid(-1e-3, 1e-3, 2001) {
            let exact = Foundation.exp(Double(x))
            worst = max(worst, abs(Double(FastFloatMath.exp(x)) - exact) / exact)
        }
        XCTAssertLessThan(worst, 4 * Double(Float.ulpOfOne), "worst relative error \(worst)")
    }

    func testExpMinusOneKeepsRelativeAccuracyNearZero() {
        var worst = 0.0
        for x in grid(-20, 20, 100_001) + grid(-1e-4, 1e-4, 2001) where x != 0 {
            let exact = Foundation.expm1(Double(x))
            worst = max(worst, abs(Double(FastFloatMath.expMinusOne(x)) - exact) / abs(exact))
        }
        XCTAssertLessThan(worst, 4 * Double(Float.ulpOfOne), "worst relative error \(worst)")
    }

    func testTanhIsAccurateFromTinyToSaturated() {
        var worst = 0.0
        for x in grid(-12, 12, 200_001) + grid(-1e-5, 1e-5, 2001) where x != 0 {
            let exact = Foundation.tanh(Double(x))
            worst = max(worst, abs(Double(FastFloatMath.tanh(x)) - exact) / abs(exact))
        }
        XCTAssertLessThan(worst, 4 * Double(Float.ulpOfOne), "worst relative error \(worst)")
        XCTAssertEqual(FastFloatMath.tanh(50), 1)
        XCTAssertEqual(FastFloatMath.tanh(-50), -1)
        XCTAssertEqual(FastFloatMath.tanh(0), 0)
        XCTAssertEqual(FastFloatMath.tanh(-0.0).sign, .minus, "−0 keeps its sign")
        XCTAssertEqual(FastFloatMath.tanh(.infinity), 1)
        XCTAssertEqual(FastFloatMath.tanh(-.infinity), -1)
        XCTAssertTrue(FastFloatMath.tanh(.nan).isNaN)
        let tiny = Float.leastNonzeroMagnitude * 8
        XCTAssertEqual(FastFloatMath.tanh(tiny), tiny, "a subnormal comes out as itself")
    }

    func testSigmoidStaysInTheUnitIntervalAndIsAccurate() {
        var worst = 0.0
        for x in grid(-80, 80, 100_001) {
            let exact = 1 / (1 + Foundation.exp(-Double(x)))
            let fast = FastFloatMath.sigmoid(x)
            XCTAssertTrue(fast >= 0 && fast <= 1)
            worst = max(worst, abs(Double(fast) - exact) / exact)
        }
        XCTAssertLessThan(worst, 8 * Double(Float.ulpOfOne), "worst relative error \(worst)")
    }
}
