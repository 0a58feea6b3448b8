/// The limits a posterior must stay within to be called calibrated.
///
/// The defaults are chosen so that an exactly calibrated posterior fails rarely (each check
/// at well under 1%) while a posterior whose variance is off by a factor of two fails on a
/// test set of a few hundred points. `schemas/validation.md` lists them with their reasons.
///
/// ```swift
/// var thresholds = CalibrationThresholds()
/// thresholds.sbcMinimumPValue = 0.001    // more lenient
/// ```
public struct CalibrationThresholds: Sendable, Codable, Equatable {
    /// SBC fails when any parameter's Kolmogorov–Smirnov or chi-square p-value, after the
    /// Bonferroni correction for the number of parameters, is below this.
    public var sbcMinimumPValue: Double = 0.01
    /// The confidence of the binomial band around the ideal coverage curve (per level; the
    /// marginal curves' band is also corrected for the number of parameters).
    public var coverageBandConfidence: Double = 0.99
    /// Coverage fails when a curve leaves its band by more than this (a fraction of test points).
    public var coverageTolerance: Double = 0.02
    /// TARP fails when its area is further from 0 than this many bootstrap standard errors.
    public var tarpStandardErrors: Double = 3
    /// The reference comparison fails when the C2ST accuracy is above this.
    public var c2stMaximumAccuracy: Double = 0.6

    public init() {}
}
