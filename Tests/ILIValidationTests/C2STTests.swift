import ILIValidation
import XCTest

final class C2STTests: XCTestCase {
    func gaussian(_ n: Int, shift: Double, dims: Int = 2, seed: UInt64) -> Matrix<Double> {
        var rng = RandomSource(seed: seed)
        return Matrix(rows: n, cols: dims) { _, j in (j == 0 ? shift : 0) + rng.normal() }
    }

    func testSameDistributionScoresNearOneHalf() {
        let score = C2ST.accuracy(reference: gaussian(1500, shift: 0, seed: 1), candidate: gaussian(1500, shift: 0, seed: 2), seed: 3)
        // Binomial sd of the accuracy over 3000 points is ~0.009; over-fitting adds a little.
        XCTAssertEqual(score, 0.5, accuracy: 0.04)
    }

    func testShiftedGaussiansScoreTheBayesOptimalAccuracy() {
        // N(0, I) vs N(Δe₁, I): the best classifier reaches Φ(Δ/2) = 0.6915 for Δ = 1.
        let score = C2ST.accuracy(reference: gaussian(1500, shift: 0, seed: 4), candidate: gaussian(1500, shift: 1, seed: 5), seed: 6)
        XCTAssertEqual(score, 0.6915, accuracy: 0.04)
    }

    func testSeparatedSamplesScoreNearOne() {
        let score = C2ST.accuracy(reference: gaussian(500, shift: 0, seed: 7), candidate: gaussian(500, shift: 8, seed: 8), seed: 9)
        XCTAssertGreaterThan(score, 0.99)
    }
}
