import ILIValidation
import XCTest

/// Reference numbers are from SciPy 1.17.1 (`scipy.stats.kstwo.sf`, `chi2.sf`, `binom.ppf`,
/// `kstest`), computed once and written here.
final class StatisticsTests: XCTestCase {
    func testKolmogorovSmirnovTailMatchesSciPy() {
        // (n, d, scipy.stats.kstwo.sf(d, n))
        let cases: [(Int, Double, Double, Double)] = [
            (3, 0.3, 0.8862222222222222, 1e-9),
            (10, 0.274, 0.3715203845434957, 1e-9),
            (50, 0.3, 0.00017353260202718738, 1e-9),
            (100, 0.1, 0.2526927570063874, 1e-9),
            // Above n = 140 SciPy itself switches to an approximation good to about 1e-6.
            (300, 0.08, 0.04064402562448788, 1e-6),
            (500, 0.05, 0.15866260223815387, 1e-6),
            (1000, 0.03, 0.3226902143914636, 1e-6),
            // Above n = 1000 the corrected Kolmogorov limit is used: close, not exact.
            (5000, 0.02, 0.03613941395325637, 5e-4),
        ]
        for (n, d, expected, tolerance) in cases {
            XCTAssertEqual(KolmogorovSmirnov.survival(d, sampleSize: n), expected, accuracy: tolerance, "n=\(n) d=\(d)")
        }
    }

    func testKolmogorovSmirnovStatisticMatchesSciPyKSTest() {
        // scipy.stats.kstest([0.1, 0.2, 0.35, 0.4, 0.9], 'uniform') → (0.4, 0.3088)
        let result = KolmogorovSmirnov.uniformity([0.1, 0.2, 0.35, 0.4, 0.9])
        XCTAssertEqual(result.statistic, 0.4, accuracy: 1e-12)
        XCTAssertEqual(result.pValue, 0.3087999999999995, accuracy: 1e-9)
    }

    func testChiSquareTailMatchesSciPy() {
        // (x, k, scipy.stats.chi2.sf(x, k))
        let cases: [(Double, Int, Double)] = [
            (3.0, 4, 0.5578254003710748),
            (20.0, 9, 0.017912404529843298),
            (0.5, 1, 0.47950012218695337),
            (50.0, 19, 0.0001310611647931629),
            (100.0, 60, 0.0009168288614560842),
            (7.5, 2, 0.023517745856009114),
        ]
        for (x, k, expected) in cases {
            XCTAssertEqual(ChiSquare.survival(x, degreesOfFreedom: k), expected, accuracy: expected * 1e-9, "x=\(x) k=\(k)")
        }
        XCTAssertEqual(ChiSquare.survival(0, degreesOfFreedom: 3), 1)
    }

    func testBinomialQuantilesMatchSciPy() {
        // (n, p, q, scipy.stats.binom.ppf(q, n, p))
        let cases: [(Int, Double, Double, Int)] = [
            (100, 0.5, 0.005, 37), (100, 0.5, 0.995, 63),
            (300, 0.05, 0.005, 6), (300, 0.05, 0.995, 25),
            (1000, 0.95, 0.005, 931), (1000, 0.95, 0.995, 967),
            (20, 0.3, 0.025, 2),
        ]
        for (n, p, q, expected) in cases {
            XCTAssertEqual(BinomialBand.quantile(q, trials: n, probability: p), expected, "n=\(n) p=\(p) q=\(q)")
        }
        let band = BinomialBand.interval(trials: 100, probability: 0.5, confidence: 0.99)
        XCTAssertEqual(band.lower, 0.37, accuracy: 1e-12)
        XCTAssertEqual(band.upper, 0.63, accuracy: 1e-12)
    }
}
