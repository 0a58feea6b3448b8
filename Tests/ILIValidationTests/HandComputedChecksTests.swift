import ILIValidation
import XCTest

/// Three test points, four samples each, one parameter: every number below is worked out
/// by hand in the comments.
final class HandComputedChecksTests: XCTestCase {
    // Truths 0.5, 2.5, −1. Samples below each truth: 2 (0.1, 0.2), 3 (0, 1, 2), 0.
    // Credibilities (rank + ½)/(L + 1) = 0.5, 0.7, 0.1.
    // Samples with a higher log-probability than the truth: 2 (−0.5, −0.1 > −1), 0, 3.
    let draws = TestSetDraws(
        theta: Matrix(rows: 3, cols: 1, [0.5, 2.5, -1]),
        samples: Matrix(rows: 12, cols: 1, [0.1, 0.2, 0.9, 1.0, 0, 1, 2, 3, 0, 1, 2, 3]),
        samplesPerPoint: 4,
        truthLogProb: [-1, -2, -5],
        sampleLogProb: [-0.5, -1.5, -2, -0.1, -3, -3, -3, -3, -1, -1, -1, -6])

    func testRanks() {
        XCTAssertEqual(draws.parameterRanks, [[2, 3, 0]])
        XCTAssertEqual(draws.densityRanks, [2, 0, 3])
    }

    func testSBC() {
        let sbc = SimulationBasedCalibration.evaluate(draws)
        // Two bins (⌊r·2/5⌋): ranks 0–2 and 3–4, expecting 3·3/5 = 1.8 and 3·2/5 = 1.2; observed 2 and 1.
        XCTAssertEqual(sbc.bins, 2)
        let p = sbc.parameters[0]
        XCTAssertEqual(p.histogram, [2, 1])
        XCTAssertEqual(p.expectedCounts[0], 1.8, accuracy: 1e-12)
        XCTAssertEqual(p.expectedCounts[1], 1.2, accuracy: 1e-12)
        let expectedChiSquare: Double = 0.04 / 1.8 + 0.04 / 1.2
        XCTAssertEqual(p.chiSquareStatistic, expectedChiSquare, accuracy: 1e-12)
        XCTAssertEqual(ChiSquare.goodnessOfFit(observed: p.histogram, expected: p.expectedCounts).pValue,
                       0.8136637157667919, accuracy: 1e-9)   // scipy chi2.sf(0.0556, 1)
        // Stored corrected for the two tests of the one parameter: 2 × 0.81, capped at 1.
        XCTAssertEqual(p.chiSquarePValue, 1)
        // Sorted credibilities 0.1, 0.5, 0.7: the largest gap is 1 − 0.7 = 0.3.
        XCTAssertEqual(p.ksStatistic, 0.3, accuracy: 1e-12)
        XCTAssertEqual(KolmogorovSmirnov.uniformity([0.5, 0.7, 0.1]).pValue, 0.8862222222222222, accuracy: 1e-9)   // scipy kstest
        XCTAssertEqual(p.ksPValue, 1)
    }

    func testCoverage() {
        let coverage = ExpectedCoverage.evaluate(draws, levels: [0.05, 0.15, 0.45, 0.55, 0.75, 0.85])
        // Highest density: credibilities 0.5, 0.1, 0.7 below each level.
        let third = 1.0 / 3
        XCTAssertEqual(coverage.highestDensity!, [0, third, third, 2 * third, 1, 1])
        // Central intervals: |2u − 1| = 0, 0.4, 0.8.
        XCTAssertEqual(coverage.marginal[0], [third, third, 2 * third, 2 * third, 2 * third, 1])
    }

    func testTARPCredibilitiesAndArea() {
        // θ scaled by its range [−1, 2.5] (width 3.5); references 0, 1, 0.5 in scaled units.
        // Point 0: truth 1.5/3.5 = 0.429 from r = 0; samples at 0.314, 0.343 are closer → 2 → f = 0.5.
        // Point 1: truth at 1 = r; nothing is closer than 0 → f = 0.1.
        // Point 2: truth at 0, 0.5 from r = 0.5; samples at 0.286, 0.571, 0.857 are closer → 3 → f = 0.7.
        let f = TARP.credibilities(draws, references: Matrix(rows: 3, cols: 1, [0, 1, 0.5]))
        XCTAssertEqual(f, [0.5, 0.1, 0.7])
        var rng = RandomSource(seed: 1)
        let tarp = TARP.evaluate(credibilities: f, bootstrapCount: 50, rng: &rng)
        // ∫_{½}^{1} ECP = (2/3)·0.2 + 1·0.3 = 0.4333, minus ∫ α = 0.375.
        XCTAssertEqual(tarp.area, 0.4333333333333333 - 0.375, accuracy: 1e-12)
        XCTAssertEqual(tarp.expectedCoverage[60], 2.0 / 3, accuracy: 1e-12)   // α = 0.6
        XCTAssertEqual(tarp.expectedCoverage[0], 0)
        XCTAssertEqual(tarp.expectedCoverage[100], 1)
        XCTAssertGreaterThan(tarp.areaStandardError, 0)
    }

    func testPredictions() {
        let predictions = Predictions.evaluate(draws)
        let p = predictions.parameters[0]
        // Means 0.55, 1.5, 1.5; errors 0.05, −1, 2.5.
        XCTAssertEqual(p.mean, [0.55, 1.5, 1.5])
        let meanSquare: Double = (0.0025 + 1 + 6.25) / 3
        XCTAssertEqual(p.rootMeanSquareError, meanSquare.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(predictions.logProbOfTruth?.mean ?? 0, -8.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(predictions.logProbOfTruth?.median, -2)
    }

    func testPredictiveCheckLocatesTheObservation() {
        // Simulated x = 0…99 in one component: 25 values lie below 24.5.
        let simulated = Matrix(rows: 100, cols: 1) { i, _ in Double(i) }
        let ppc = PosteriorPredictiveCheck.summarize(simulated: simulated, observation: [24.5])
        XCTAssertEqual(ppc.quantiles, [0.25])
        XCTAssertEqual(ppc.tailProbabilities, [0.5])
        // Distance from the mean 49.5 is 25; values ≤ 24 or ≥ 75 are as far: 25 + 25.
        XCTAssertEqual(ppc.jointTailProbability, 0.5)
    }
}
