/// Expected coverage: at each credible level γ, the fraction of test points whose true θ
/// lies inside the posterior's level-γ region. A calibrated posterior covers a fraction γ,
/// up to the binomial scatter of a finite test set.
///
/// Two kinds of region are checked. The highest-posterior-density region is found from
/// samples: the truth is inside the level-γ region when fewer than a fraction γ of its
/// point's samples have a higher log-probability than it does (as a credibility,
/// (count + ½) / (L + 1) < γ). The marginal central interval of parameter j holds the truth
/// when its rank credibility u satisfies |2u − 1| < γ.
///
/// Each curve is judged against a simultaneous band (`SimultaneousBand`): a calibrated
/// posterior's curve stays inside it at all levels at once with probability
/// `bandConfidence`, so the check's false-alarm rate is 1 − `bandConfidence` however many
/// levels there are. The marginal curves' band is at 1 − (1 − `bandConfidence`)/d, so that
/// the d curves together fail a calibrated posterior at most that often. Under calibration a
/// rank is uniform on 0…L, so the chance of each event is counted on that grid exactly
/// rather than taken to be γ.
///
/// ```swift
/// let coverage = ExpectedCoverage.evaluate(draws, bandConfidence: 0.995)
/// coverage.highestDensity?[9]       // the fraction covered at γ = 0.5
/// coverage.bandLower[9]             // what chance alone allows below it
/// ```
public enum ExpectedCoverage {
    /// 0.05, 0.10, …, 0.95.
    public static let standardLevels: [Double] = (1...19).map { Double($0) / 20 }

    public struct Result: Sendable, Codable, Equatable {
        public var levels: [Double]
        /// Covered fraction at each level for the highest-density region; nil without log-probabilities.
        public var highestDensity: [Double]?
        /// Covered fraction at each level for each parameter's central interval.
        public var marginal: [[Double]]
        /// The simultaneous band a calibrated posterior's highest-density curve stays inside,
        /// at every level at once, with probability `bandConfidence`.
        public var bandLower: [Double]
        public var bandUpper: [Double]
        /// The wider band for the marginal curves, Bonferroni-corrected for the number of parameters.
        public var marginalBandLower: [Double]
        public var marginalBandUpper: [Double]
        public var bandConfidence: Double
        public var testPoints: Int
        /// The per-level confidence of the binomial intervals that make each band (above
        /// `bandConfidence`: the price of judging all levels at once). Nil in reports written
        /// before bands were simultaneous.
        public var bandPointwiseConfidence: Double?
        public var marginalBandPointwiseConfidence: Double?

        /// The largest distance by which the highest-density curve leaves its band (0 inside).
        public var highestDensityExcess: Double? {
            highestDensity.map { Self.excess($0, bandLower, bandUpper) }
        }

        /// The largest distance by which any marginal curve leaves its band.
        public var marginalExcess: Double {
            marginal.map { Self.excess($0, marginalBandLower, marginalBandUpper) }.max() ?? 0
        }

        /// The mean of (covered − γ) over levels of the highest-density curve (or, without
        /// one, of all marginal curves): negative when the posterior covers too little.
        public var meanDeviation: Double {
            let curves = highestDensity.map { [$0] } ?? marginal
            let deviations = curves.flatMap { zip($0, levels).map { $0 - $1 } }
            return SampleStatistics.mean(deviations)
        }

        static func excess(_ curve: [Double], _ lower: [Double], _ upper: [Double]) -> Double {
            var worst = 0.0
            for k in curve.indices {
                worst = Swift.max(worst, lower[k] - curve[k], curve[k] - upper[k])
            }
            return worst
        }
    }

    public static func evaluate(_ draws: TestSetDraws, levels: [Double] = standardLevels,
                                bandConfidence: Double = 0.995) -> Result {
        let n = draws.testPoints
        let d = draws.parameterCount
        func fractionBelow(_ values: [Double], _ level: Double) -> Double {
            Double(values.reduce(0) { $0 + ($1 < level ? 1 : 0) }) / Double(values.count)
        }
        let hpd = draws.densityRanks.map { ranks -> [Double] in
            let credibilities = ranks.map(draws.credibility(ofRank:))
            return levels.map { fractionBelow(credibilities, $0) }
        }
        let marginal = draws.parameterRanks.map { ranks -> [Double] in
            let centrality = ranks.map { Swift.abs(2 * draws.credibility(ofRank: $0) - 1) }
            return levels.map { fractionBelow(centrality, $0) }
        }
        // The chance of each event for a calibrated posterior, whose ranks are uniform on
        // 0…L: the fraction of rank values whose credibility (or centrality) passes the same
        // test the curves apply.
        let grid = (0...draws.samplesPerPoint).map(draws.credibility(ofRank:))
        let hpdChance = levels.map { fractionBelow(grid, $0) }
        let marginalChance = levels.map { level in fractionBelow(grid.map { Swift.abs(2 * $0 - 1) }, level) }
        let band = simultaneousBand(n, hpdChance, levels, bandConfidence)
        let marginalBand = simultaneousBand(n, marginalChance, levels, 1 - (1 - bandConfidence) / Double(d))
        return Result(levels: levels, highestDensity: hpd, marginal: marginal,
                      bandLower: band.lower, bandUpper: band.upper,
                      marginalBandLower: marginalBand.lower, marginalBandUpper: marginalBand.upper,
                      bandConfidence: bandConfidence, testPoints: n,
                      bandPointwiseConfidence: band.pointwise, marginalBandPointwiseConfidence: marginalBand.pointwise)
    }

    /// The simultaneous band as fractions of n, in the order of `levels` (the band is built
    /// over the levels sorted, where the events are nested).
    static func simultaneousBand(_ n: Int, _ chance: [Double], _ levels: [Double], _ confidence: Double)
        -> (lower: [Double], upper: [Double], pointwise: Double) {
        let order = levels.indices.sorted { (levels[$0], $0) < (levels[$1], $1) }
        let band = SimultaneousBand.band(trials: n, probabilities: order.map { chance[$0] }, confidence: confidence)
        var lower = [Double](repeating: 0, count: levels.count), upper = lower
        for (position, k) in order.enumerated() {
            lower[k] = Double(band.lower[position]) / Double(n)
            upper[k] = Double(band.upper[position]) / Double(n)
        }
        return (lower, upper, band.pointwiseConfidence)
    }
}
