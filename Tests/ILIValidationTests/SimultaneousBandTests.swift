import ILIValidation
import XCTest

/// The simultaneous coverage band and TARP's null distribution: the pieces that fix each
/// check's false-alarm rate.
final class SimultaneousBandTests: XCTestCase {
    /// One level: the probability of staying inside is the binomial mass of the interval.
    /// Binomial(10, ½) on 3…7: (120 + 210 + 252 + 210 + 120)/1024.
    func testOneLevelIsTheBinomialMass() {
        let inside = SimultaneousBand.probabilityInside(trials: 10, probabilities: [0.5], lower: [3], upper: [7])
        XCTAssertEqual(inside, 912.0 / 1024, accuracy: 1e-12)
    }

    /// Three nested levels, four trials: the exact probability against enumerating all 4⁴
    /// ways four points fall into the four cells the levels cut.
    func testNestedLevelsAgainstEnumeration() {
        let p = [0.2, 0.5, 0.9]
        let cells = [0.2, 0.3, 0.4, 0.1]
        let lower = [0, 1, 3], upper = [1, 3, 4]
        var expected = 0.0
        for code in 0..<256 {
            var counts = [0, 0, 0, 0]
            var probability = 1.0
            var rest = code
            for _ in 0..<4 {
                counts[rest % 4] += 1
                probability *= cells[rest % 4]
                rest /= 4
            }
            let cumulative = [counts[0], counts[0] + counts[1], counts[0] + counts[1] + counts[2]]
            if (0..<3).allSatisfy({ cumulative[$0] >= lower[$0] && cumulative[$0] <= upper[$0] }) { expected += probability }
        }
        let inside = SimultaneousBand.probabilityInside(trials: 4, probabilities: p, lower: lower, upper: upper)
        XCTAssertEqual(inside, expected, accuracy: 1e-12)
    }

    /// At 200 test points and 19 levels, the band holds a calibrated curve 99% of the time,
    /// which takes pointwise intervals of about 99.9%; the old band was the 99% pointwise one.
    func testBandOverNineteenLevels() {
        let levels = ExpectedCoverage.standardLevels
        let band = SimultaneousBand.band(trials: 200, probabilities: levels, confidence: 0.99)
        XCTAssertGreaterThanOrEqual(band.coverage, 0.99)
        XCTAssertLessThan(band.coverage, 0.995)
        XCTAssertGreaterThan(band.pointwiseConfidence, 0.997)
        XCTAssertEqual(band.coverage, SimultaneousBand.probabilityInside(trials: 200, probabilities: levels,
                                                                        lower: band.lower, upper: band.upper), accuracy: 1e-12)
        // The pointwise 99% intervals alone hold the whole curve far less often.
        let pointwise = levels.map { BinomialBand.interval(trials: 200, probability: $0, confidence: 0.99) }
        let old = SimultaneousBand.probabilityInside(trials: 200, probabilities: levels,
                                                     lower: pointwise.map { Int(($0.lower * 200).rounded()) },
                                                     upper: pointwise.map { Int(($0.upper * 200).rounded()) })
        XCTAssertLessThan(old, 0.97)
        // Each interval is at least as wide as the pointwise 99% one.
        for k in levels.indices {
            XCTAssertLessThanOrEqual(Double(band.lower[k]) / 200, pointwise[k].lower + 1e-12)
            XCTAssertGreaterThanOrEqual(Double(band.upper[k]) / 200, pointwise[k].upper - 1e-12)
        }
    }

    /// Calibrated test sets drawn 600 times (truth and samples from one normal, 100 points,
    /// 20 samples each, so the rank grid is coarse), judged with 99% simultaneous bands:
    /// the coverage checks fail about 1% of them each. At a true 1%, 12 or more of 600
    /// happens 0.8% of the time.
    func testCoverageChecksFailCalibratedTestSetsAsOftenAsTheirBandsSay() {
        let n = 100, l = 20, sets = 600
        var rng = RandomSource(seed: 8)
        var failures: [String: Int] = [:]
        for _ in 0..<sets {
            let theta = Matrix(rows: n, cols: 1) { _, _ in rng.normal() }
            let samples = Matrix(rows: n * l, cols: 1) { _, _ in rng.normal() }
            let draws = TestSetDraws(theta: theta, samples: samples, samplesPerPoint: l,
                                     truthLogProb: (0..<n).map { -0.5 * theta[$0, 0] * theta[$0, 0] },
                                     sampleLogProb: (0..<(n * l)).map { -0.5 * samples[$0, 0] * samples[$0, 0] })
            let coverage = ExpectedCoverage.evaluate(draws, bandConfidence: 0.99)
            var thresholds = CalibrationThresholds()
            thresholds.coverageBandConfidence = 0.99
            for check in CalibrationVerdict.judge(sbc: nil, coverage: coverage, tarp: nil, thresholds: thresholds).checks where !check.passed {
                failures[check.name, default: 0] += 1
            }
        }
        XCTAssertLessThanOrEqual(failures["coverage-hpd", default: 0], 12, "\(failures)")
        XCTAssertLessThanOrEqual(failures["coverage-marginal", default: 0], 12, "\(failures)")
    }

    /// TARP's area for a calibrated posterior: mean 0 and variance 5/(192 n) for continuous
    /// credibilities. On the grid of L = 4 samples, f ∈ {0.1, 0.3, 0.5, 0.7, 0.9} gives
    /// 1 − max(f, ½) = 0.5, 0.5, 0.5, 0.3, 0.1: mean 0.38 (area 0.005), variance 0.17 − 0.38².
    func testTARPAreaUnderCalibration() {
        var rng = RandomSource(seed: 1)
        let continuous = TARP.evaluate(credibilities: [0.5, 0.1, 0.7], bootstrapCount: 10, rng: &rng)
        XCTAssertEqual(continuous.areaUnderCalibration ?? .nan, 0, accuracy: 1e-15)
        XCTAssertEqual(continuous.areaStandardErrorUnderCalibration ?? .nan, (5.0 / 192 / 3).squareRoot(), accuracy: 1e-15)
        let grid = TARP.evaluate(credibilities: [0.5, 0.1, 0.7], bootstrapCount: 10, samplesPerPoint: 4, rng: &rng)
        XCTAssertEqual(grid.areaUnderCalibration ?? .nan, 0.005, accuracy: 1e-12)
        XCTAssertEqual(grid.areaStandardErrorUnderCalibration ?? .nan, ((0.17 - 0.38 * 0.38) / 3).squareRoot(), accuracy: 1e-12)
        // The area 0.4333 − 0.375 is (0.0583 − 0.005)/0.0924 = 0.58 such errors from the mean.
        XCTAssertEqual(grid.areaZ, (0.4333333333333333 - 0.375 - 0.005) / ((0.17 - 0.38 * 0.38) / 3).squareRoot(), accuracy: 1e-9)
    }

    /// The default thresholds give each calibration check 0.5%, and the verdict at most 2%.
    func testDefaultThresholdsBoundTheVerdictsFalseAlarms() {
        let t = CalibrationThresholds()
        XCTAssertEqual(t.falseAlarmBound, 0.02, accuracy: 1e-9)
        XCTAssertEqual(t.coverageTolerance, 0)
        let shared = CalibrationThresholds(falseAlarmRate: 0.02)
        XCTAssertEqual(shared.sbcMinimumPValue, t.sbcMinimumPValue, accuracy: 1e-15)
        XCTAssertEqual(shared.coverageBandConfidence, t.coverageBandConfidence, accuracy: 1e-15)
        XCTAssertEqual(shared.tarpStandardErrors, t.tarpStandardErrors, accuracy: 1e-12)
        let strict = CalibrationThresholds(falseAlarmRate: 0.01)
        XCTAssertEqual(strict.sbcMinimumPValue, 0.0025, accuracy: 1e-15)
        XCTAssertEqual(strict.coverageBandConfidence, 0.9975, accuracy: 1e-15)
        XCTAssertEqual(strict.tarpStandardErrors, 3.0233414, accuracy: 1e-6)   // scipy norm.isf(0.00125)
        XCTAssertEqual(strict.falseAlarmBound, 0.01, accuracy: 1e-12)
    }
}
