import Foundation
import ILIValidation
import XCTest

/// The calibration gate's error rates, as the README and schemas/validation.md state them,
/// measured over many test sets rather than one.
///
/// Test sets cycle through 2, 5 and 10 parameters and 100, 200 and 400 test points of the
/// Gaussian-linear task, 300 samples per point, each from its own seed. Over 900 such sets
/// (`ili-bench gate --cases exact --samples 300`, seeds 50,000–50,099 per combination)
/// exact posteriors failed 17 times (1.9%, 95% interval 1.2–3.0%; the default thresholds
/// bound it by 2%): 2.3% at 100 test points, 1.0% at 200, 2.3% at 400. Before the checks
/// were corrected for multiplicity the same kind of measurement gave 3.6% (6.7% at 100
/// test points). Halved and doubled variances were caught with the right direction every
/// time.
///
/// Bounds, from the binomial spread of a count over independent test sets:
/// - 100 exact test sets, at most 6 failures. At 1.9% the chance of 7 or more is 0.3%
///   (3% at the interval's upper end); a gate whose false-alarm rate grew to 10% passes
///   the bound 12% of the time, one at 15% 0.5% of the time.
/// - 50 halved and 50 doubled, at least 48 of each caught with the right direction. A
///   gate that truly catches 99.9% misses three or more with probability 2·10⁻⁵; one
///   that catches only 90% is below 48 with probability 89%.
final class GateErrorRateTests: XCTestCase {
    static let dimensions = [2, 5, 10]
    static let testPoints = [100, 200, 400]

    /// The verdict on test set `k` for the exact posterior with its variance scaled.
    func verdict(testSet k: Int, varianceScale: Double) throws -> CalibrationVerdict {
        let task = GaussianLinear(dimension: Self.dimensions[k % 3])
        var rng = RandomSource(seed: 10_000 + UInt64(k))
        let (theta, x) = task.simulations(Self.testPoints[(k / 3) % 3], rng: &rng)
        let suite = ValidationSuite(samplesPerPoint: 300, seed: 20_000 + UInt64(k))
        return try suite.run(posterior: GaussianPosterior(task: task, varianceScale: varianceScale),
                             theta: theta, observations: x).verdict
    }

    func testExactPosteriorsRarelyFailAndMisScaledOnesAreCaughtTheRightWay() throws {
        var falseAlarms: [String] = []
        for k in 0..<100 {
            let v = try verdict(testSet: k, varianceScale: 1)
            if !v.passed { falseAlarms.append("set \(k): " + v.checks.filter { !$0.passed }.map(\.name).joined(separator: ", ")) }
        }
        var caught: [Double: Int] = [0.5: 0, 2: 0]
        var missed: [String] = []
        for (scale, expected) in [(0.5, Miscalibration.overConfident), (2, .underConfident)] {
            for k in 0..<50 {
                let v = try verdict(testSet: 100 + k, varianceScale: scale)
                if !v.passed && v.direction == expected {
                    caught[scale, default: 0] += 1
                } else {
                    missed.append("scale \(scale), set \(100 + k): passed \(v.passed), direction \(v.direction?.rawValue ?? "none")")
                }
            }
        }
        print("calibration gate: \(falseAlarms.count) of 100 exact test sets failed \(falseAlarms); caught \(caught[0.5]!) of 50 halved and \(caught[2]!) of 50 doubled")
        XCTAssertLessThanOrEqual(falseAlarms.count, 6, "false alarms: \(falseAlarms)")
        XCTAssertGreaterThanOrEqual(caught[0.5]!, 48, "missed: \(missed)")
        XCTAssertGreaterThanOrEqual(caught[2]!, 48, "missed: \(missed)")
    }
}
