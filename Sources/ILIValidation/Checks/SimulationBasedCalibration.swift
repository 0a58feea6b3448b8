/// Simulation-based calibration: the rank of each true parameter among its posterior
/// samples is uniform on 0…L when the posterior is calibrated.
///
/// Uniformity is tested per parameter by Kolmogorov–Smirnov on the ranks as credibilities
/// ((rank + ½) / (L + 1)) and by chi-square on a rank histogram; both p-values are
/// Bonferroni-corrected for the 2d tests (two per parameter), so that the smallest of them
/// falls below a level α for a calibrated posterior at most a fraction α of the time. The spread of the ranks tells the
/// direction: truths piling up in the tails (a U-shaped histogram, spread above a uniform's)
/// mean an over-confident posterior, truths piling up in the middle an under-confident one,
/// and a shifted mean a biased one.
///
/// ```swift
/// let sbc = SimulationBasedCalibration.evaluate(draws)
/// sbc.parameters[0].ksPValue          // corrected p-value of θ₀
/// sbc.smallestCorrectedPValue         // what the verdict compares with its threshold
/// ```
public enum SimulationBasedCalibration {
    public struct ParameterResult: Sendable, Codable, Equatable {
        /// The rank of each test point's truth among its L samples, 0…L.
        public var ranks: [Int]
        /// Counts of ranks in `bins` equal-width bins over 0…L.
        public var histogram: [Int]
        /// The count each bin expects under uniformity.
        public var expectedCounts: [Double]
        public var ksStatistic: Double
        /// Kolmogorov–Smirnov p-value, multiplied by 2d, the number of tests (at most 1).
        public var ksPValue: Double
        public var chiSquareStatistic: Double
        /// Chi-square p-value, multiplied by 2d, the number of tests (at most 1).
        public var chiSquarePValue: Double
        /// (mean credibility − ½) in standard errors: far from 0 means bias.
        public var meanZ: Double
        /// (variance of the credibilities − 1/12) in standard errors: positive means the
        /// truths sit in the tails (over-confident), negative in the middle (under-confident).
        public var spreadZ: Double
    }

    public struct Result: Sendable, Codable, Equatable {
        public var samplesPerPoint: Int
        public var bins: Int
        public var parameters: [ParameterResult]

        public var smallestCorrectedPValue: Double {
            parameters.map { Swift.min($0.ksPValue, $0.chiSquarePValue) }.min() ?? 1
        }
    }

    /// The number of histogram bins used when none is given: about one per ten test points
    /// (so that each expects ten or more), between 2 and 20, and no more than L + 1.
    public static func defaultBins(testPoints: Int, samplesPerPoint: Int) -> Int {
        Swift.min(Swift.max(testPoints / 10, 2), 20, samplesPerPoint + 1)
    }

    public static func evaluate(_ draws: TestSetDraws, bins: Int? = nil) -> Result {
        let l = draws.samplesPerPoint
        let n = draws.testPoints
        let d = draws.parameterCount
        let binCount = bins ?? defaultBins(testPoints: n, samplesPerPoint: l)
        precondition(binCount >= 2 && binCount <= l + 1, "SBC needs between 2 and L + 1 = \(l + 1) bins, got \(binCount)")
        let allRanks = draws.parameterRanks
        // Rank r falls in bin ⌊r·B / (L+1)⌋; when B does not divide L + 1 the bins hold
        // unequal numbers of rank values, and the expected counts follow.
        var valuesPerBin = [Int](repeating: 0, count: binCount)
        for r in 0...l { valuesPerBin[r * binCount / (l + 1)] += 1 }
        let expected = valuesPerBin.map { Double($0) / Double(l + 1) * Double(n) }

        let parameters = allRanks.map { ranks -> ParameterResult in
            var histogram = [Int](repeating: 0, count: binCount)
            for r in ranks { histogram[r * binCount / (l + 1)] += 1 }
            let credibilities = ranks.map(draws.credibility(ofRank:))
            let ks = KolmogorovSmirnov.uniformity(credibilities)
            let chi = ChiSquare.goodnessOfFit(observed: histogram, expected: expected)
            let mean = SampleStatistics.mean(credibilities)
            let variance = credibilities.reduce(0) { $0 + ($1 - 0.5) * ($1 - 0.5) } / Double(n)
            // A uniform credibility has mean ½, variance 1/12, and (u − ½)² has variance 1/180;
            // the discrete grid of L + 1 values shrinks the variance by (L² + 2L)/(L+1)², kept here.
            let gridVariance = (Double(l * l + 2 * l) / Double((l + 1) * (l + 1))) / 12
            return ParameterResult(
                ranks: ranks, histogram: histogram, expectedCounts: expected,
                ksStatistic: ks.statistic, ksPValue: Swift.min(1, ks.pValue * Double(2 * d)),
                chiSquareStatistic: chi.statistic, chiSquarePValue: Swift.min(1, chi.pValue * Double(2 * d)),
                meanZ: (mean - 0.5) / (1.0 / (12 * Double(n))).squareRoot(),
                spreadZ: (variance - gridVariance) / (1.0 / (180 * Double(n))).squareRoot())
        }
        return Result(samplesPerPoint: l, bins: binCount, parameters: parameters)
    }
}
