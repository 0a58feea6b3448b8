import Foundation

/// The limits a posterior must stay within to be called calibrated.
///
/// Each calibration check is a test of "this posterior is calibrated" whose threshold fixes
/// how often it fails an exactly calibrated posterior, however many parameters and credible
/// levels it looks at: the SBC p-values are corrected for every parameter and both tests, the
/// coverage bands hold at all levels at once (`SimultaneousBand`), and TARP's area is measured
/// in the standard errors a calibrated posterior's area has. With the defaults each of SBC,
/// highest-density coverage, marginal coverage and TARP fails a calibrated posterior at most
/// 0.5% of the time, so the verdict fails one at most 2% of the time (`falseAlarmBound`):
/// on 1,000 exact Gaussian-linear test sets of 200 points it failed 2.0% (10 parameters),
/// and caught variances halved or doubled and means shifted by half a standard deviation
/// every time.
/// `schemas/validation.md` lists the thresholds with their reasons and measured rates.
///
/// ```swift
/// var thresholds = CalibrationThresholds()
/// thresholds.sbcMinimumPValue = 0.001    // more lenient
/// thresholds.falseAlarmBound             // 0.016: 0.001 + 3 × 0.005
/// ```
public struct CalibrationThresholds: Sendable, Codable, Equatable {
    /// SBC fails when any parameter's Kolmogorov–Smirnov or chi-square p-value, after the
    /// Bonferroni correction for the 2d tests, is below this: its false-alarm rate.
    public var sbcMinimumPValue: Double = 0.005
    /// The probability that a calibrated posterior's highest-density coverage curve stays
    /// inside its band at every level at once; the d marginal curves share the same
    /// probability between them (each band at 1 − (1 − this)/d).
    public var coverageBandConfidence: Double = 0.995
    /// Coverage fails when a curve leaves its band by more than this (a fraction of test
    /// points). At 0 the coverage checks' false-alarm rates are 1 − `coverageBandConfidence`;
    /// more tolerance lowers them.
    public var coverageTolerance: Double = 0
    /// TARP fails when its area is further from a calibrated posterior's than this many of
    /// that area's standard errors: 2.807, the two-sided 0.5% point of a normal.
    public var tarpStandardErrors: Double = 2.8070337683438042
    /// The reference comparison fails when the C2ST accuracy is above this. It compares
    /// samples at one observation and is not a test of calibration, so it has no share in
    /// `falseAlarmBound`.
    public var c2stMaximumAccuracy: Double = 0.6

    public init() {}

    /// Thresholds that share a false-alarm rate for the whole verdict equally among the four
    /// calibration checks: each fails a calibrated posterior at most `falseAlarmRate`/4 of
    /// the time, so the verdict at most `falseAlarmRate`. The default thresholds are
    /// `CalibrationThresholds(falseAlarmRate: 0.02)`.
    public init(falseAlarmRate: Double) {
        precondition(falseAlarmRate > 0 && falseAlarmRate < 1, "the false-alarm rate must lie in (0, 1), got \(falseAlarmRate)")
        let share = falseAlarmRate / 4
        sbcMinimumPValue = share
        coverageBandConfidence = 1 - share
        tarpStandardErrors = Self.twoSidedNormalPoint(share)
    }

    /// The t with P(|Z| > t) = `tail` for a standard normal Z, by bisection on erfc, which
    /// keeps its precision far into the tail.
    static func twoSidedNormalPoint(_ tail: Double) -> Double {
        var low = 0.0, high = 40.0
        for _ in 0..<200 {
            let middle = (low + high) / 2
            if erfc(middle / 2.0.squareRoot()) > tail { low = middle } else { high = middle }
        }
        return (low + high) / 2
    }

    /// The largest chance, by these thresholds, that the four calibration checks fail an
    /// exactly calibrated posterior: the sum of their false-alarm rates (the union bound,
    /// which holds however the checks depend on each other). Without log-probabilities the
    /// highest-density check is not run, and the true bound is lower by its share.
    public var falseAlarmBound: Double {
        let tarp = erfc(tarpStandardErrors / 2.0.squareRoot())   // P(|Z| > t)
        return Swift.min(1, sbcMinimumPValue + 2 * (1 - coverageBandConfidence) + tarp)
    }
}
