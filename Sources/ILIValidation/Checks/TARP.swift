import ILITensor

/// TARP, tests of accuracy with random points: a coverage test that needs only samples.
///
/// Parameters are first scaled to [0, 1] by the range of the test truths. For each test
/// point a reference point r is drawn uniformly in that unit box; f is the fraction of the
/// point's samples closer to r than its truth is (Euclidean), as a credibility
/// ((count + ½) / (L + 1)). For a calibrated posterior f is uniform, so its empirical CDF,
/// the expected coverage probability ECP(α), follows the diagonal.
///
/// The summary is the area between the ECP curve and the diagonal over α in [½, 1],
/// ∫ (ECP(α) − α) dα = mean(1 − max(f, ½)) − 3/8, computed exactly from the f values.
/// It is negative when truths fall outside too often (an over-confident posterior, whose
/// f values pile up near 0 and 1) and positive when they fall inside too often (an
/// under-confident one). Its uncertainty comes from bootstrap resampling of the test points.
///
/// The verdict tests the area against what a calibrated posterior gives: then f is uniform
/// (on the grid of L + 1 credibilities), each test point adds an independent 1 − max(f, ½)
/// of known mean and variance (3/8 and 5/192 for a continuous uniform), and the area of n
/// points is within z standard errors √(5/(192 n)) of its mean as often as a normal is.
/// The bootstrap error, which describes the posterior at hand rather than a calibrated
/// one, is reported and plotted but does not decide.
///
/// ```swift
/// var rng = RandomSource(seed: 3)
/// let tarp = TARP.evaluate(draws, bootstrapCount: 200, rng: &rng)
/// tarp.area; tarp.areaStandardError
/// ```
public enum TARP {
    public struct Result: Sendable, Codable, Equatable {
        /// The coverage values f, one per test point.
        public var credibilities: [Double]
        /// α grid 0, 0.01, …, 1 and the ECP there (fraction of f below α).
        public var alpha: [Double]
        public var expectedCoverage: [Double]
        /// The bootstrap standard deviation of the ECP at each α.
        public var expectedCoverageStandardError: [Double]
        /// ∫_{½}^{1} (ECP(α) − α) dα.
        public var area: Double
        public var areaStandardError: Double
        /// The central 95% of the bootstrap areas.
        public var areaInterval95: [Double]
        public var bootstrapCount: Int
        /// The area's mean and standard error for a calibrated posterior at this number of test
        /// points (and samples per point, when known): what the verdict measures the area
        /// against. Nil in reports written before the verdict used them.
        public var areaUnderCalibration: Double?
        public var areaStandardErrorUnderCalibration: Double?

        /// How many standard errors of a calibrated posterior's area this area lies from its
        /// mean; with reports that lack those, in bootstrap standard errors.
        public var areaZ: Double {
            if let mean = areaUnderCalibration, let error = areaStandardErrorUnderCalibration, error > 0 {
                return (area - mean) / error
            }
            return areaStandardError > 0 ? area / areaStandardError : (area == 0 ? 0 : area.sign == .minus ? -.infinity : .infinity)
        }
    }

    /// The credibility f of each test point with respect to the given reference points,
    /// all in the scaled [0, 1] coordinates.
    ///
    /// - Precondition: `draws` holds its samples, or was drawn with these references.
    public static func credibilities(_ draws: TestSetDraws, references: Matrix<Double>) -> [Double] {
        if let ranks = draws.tarpRanks, draws.tarpReferences == references {
            return ranks.map(draws.credibility(ofRank:))
        }
        guard let samples = draws.samples else {
            preconditionFailure("TARP needs the samples, or draws counted against these reference points")
        }
        let withReferences = TestSetDraws(theta: draws.theta, samples: samples, samplesPerPoint: draws.samplesPerPoint,
                                          tarpReferences: references)
        return withReferences.tarpRanks!.map(draws.credibility(ofRank:))
    }

    /// Reference points for a test set: uniform in the unit box, one per test point.
    public static func references(testPoints: Int, parameterCount: Int, rng: inout RandomSource) -> Matrix<Double> {
        rng.uniformMatrix(rows: testPoints, cols: parameterCount, low: 0.0, high: 1.0)
    }

    /// TARP with the reference points `draws` was counted against, or else with new ones
    /// drawn from `rng`; the bootstrap draws from `rng` after them.
    public static func evaluate(_ draws: TestSetDraws, bootstrapCount: Int = 200,
                                rng: inout RandomSource) -> Result {
        let references = draws.tarpReferences
            ?? Self.references(testPoints: draws.testPoints, parameterCount: draws.parameterCount, rng: &rng)
        return evaluate(credibilities: credibilities(draws, references: references),
                        bootstrapCount: bootstrapCount, samplesPerPoint: draws.samplesPerPoint, rng: &rng)
    }

    /// The curve, area and bootstrap errors from coverage values f already computed, with
    /// the area's distribution under calibration for f on the grid (r + ½)/(L + 1) of
    /// `samplesPerPoint` L samples, or for a continuous uniform f when L is not given.
    public static func evaluate(credibilities f: [Double], bootstrapCount: Int = 200, samplesPerPoint: Int? = nil,
                                rng: inout RandomSource) -> Result {
        precondition(!f.isEmpty, "TARP needs at least one test point")
        let alpha = (0...100).map { Double($0) / 100 }
        let n = f.count
        var curves: [[Double]] = []
        var areas: [Double] = []
        for _ in 0..<bootstrapCount {
            let resampled = (0..<n).map { _ in f[Int(rng.next() % UInt64(n))] }
            curves.append(ecp(resampled, alpha))
            areas.append(area(resampled))
        }
        let null = contributionUnderCalibration(samplesPerPoint: samplesPerPoint)
        let curveErrors = alpha.indices.map { k in SampleStatistics.standardDeviation(curves.map { $0[k] }) }
        return Result(credibilities: f, alpha: alpha, expectedCoverage: ecp(f, alpha),
                      expectedCoverageStandardError: curveErrors,
                      area: area(f), areaStandardError: SampleStatistics.standardDeviation(areas),
                      areaInterval95: areas.isEmpty ? [] : [SampleStatistics.quantile(areas, 0.025), SampleStatistics.quantile(areas, 0.975)],
                      bootstrapCount: bootstrapCount,
                      areaUnderCalibration: null.mean - 0.375,
                      areaStandardErrorUnderCalibration: (null.variance / Double(n)).squareRoot())
    }

    /// The mean and variance of one test point's 1 − max(f, ½) when f is uniform: on the
    /// grid (r + ½)/(L + 1), r = 0…L, or continuous (3/8 and 1/6 − 9/64 = 5/192).
    static func contributionUnderCalibration(samplesPerPoint: Int?) -> (mean: Double, variance: Double) {
        guard let l = samplesPerPoint, l > 0 else { return (0.375, 5.0 / 192) }
        var sum = 0.0, squares = 0.0
        for r in 0...l {
            let g = 1 - Swift.max((Double(r) + 0.5) / Double(l + 1), 0.5)
            sum += g
            squares += g * g
        }
        let mean = sum / Double(l + 1)
        return (mean, squares / Double(l + 1) - mean * mean)
    }

    static func ecp(_ f: [Double], _ alpha: [Double]) -> [Double] {
        let sorted = f.sorted()
        var below = 0
        return alpha.map { a in
            while below < sorted.count && sorted[below] < a { below += 1 }
            return Double(below) / Double(sorted.count)
        }
    }

    /// ∫_{½}^{1} (ECDF(α) − α) dα, where each f contributes 1 − max(f, ½) to ∫ ECDF.
    static func area(_ f: [Double]) -> Double {
        f.reduce(0) { $0 + 1 - Swift.max($1, 0.5) } / Double(f.count) - 0.375
    }

    /// Per-parameter lower end and width of the truths' range (width 1 when constant).
    static func scaling(_ theta: Matrix<Double>) -> (low: [Double], span: [Double]) {
        var low = [Double](repeating: .infinity, count: theta.cols)
        var high = [Double](repeating: -.infinity, count: theta.cols)
        for i in 0..<theta.rows {
            for j in 0..<theta.cols {
                low[j] = Swift.min(low[j], theta[i, j])
                high[j] = Swift.max(high[j], theta[i, j])
            }
        }
        return (low, zip(low, high).map { $1 > $0 ? $1 - $0 : 1 })
    }
}
