import Foundation

/// Which way a posterior is off when a check fails.
public enum Miscalibration: String, Sendable, Codable, Equatable {
    /// Regions too small: truths fall outside more often than the credible level says.
    case overConfident = "over-confident"
    /// Regions too large: truths fall inside more often than the credible level says.
    case underConfident = "under-confident"
    /// Regions of the right size in the wrong place.
    case biased
}

/// The outcome of one check against its threshold.
public struct CheckOutcome: Sendable, Codable, Equatable {
    /// `"sbc"`, `"coverage-hpd"`, `"coverage-marginal"`, `"tarp"` or `"c2st"`.
    public var name: String
    public var passed: Bool
    /// The figure compared with the threshold.
    public var value: Double
    public var threshold: Double
    /// Which way the posterior is off; nil when passed or when the check cannot tell.
    public var direction: Miscalibration?
    /// One line for people: what was measured and what it means.
    public var summary: String
}

/// Whether a posterior passed every check, which failed, and which way it is off.
///
/// ```swift
/// let verdict = CalibrationVerdict.judge(sbc: sbc, coverage: coverage, tarp: tarp)
/// if !verdict.passed { print(verdict.direction?.rawValue ?? "miscalibrated") }
/// print(verdict.rendered)
/// ```
public struct CalibrationVerdict: Sendable, Codable, Equatable {
    public var passed: Bool
    public var checks: [CheckOutcome]
    /// The direction every failed check that names one agrees on; nil when passed, when
    /// none names one, or when they disagree (each check's own is in `checks`). A vote
    /// would call a posterior over-confident by two checks to one while the third's
    /// coverage curve lies above the diagonal.
    public var direction: Miscalibration?
    public var thresholds: CalibrationThresholds

    public static func judge(sbc: SimulationBasedCalibration.Result?, coverage: ExpectedCoverage.Result?,
                             tarp: TARP.Result?, reference: ReferenceComparison.Result? = nil,
                             thresholds: CalibrationThresholds = CalibrationThresholds()) -> CalibrationVerdict {
        var checks: [CheckOutcome] = []
        if let sbc { checks.append(judgeSBC(sbc, thresholds)) }
        if let coverage { checks += judgeCoverage(coverage, thresholds) }
        if let tarp { checks.append(judgeTARP(tarp, thresholds)) }
        if let reference {
            let passed = reference.c2stAccuracy <= thresholds.c2stMaximumAccuracy
            checks.append(CheckOutcome(
                name: "c2st", passed: passed, value: reference.c2stAccuracy, threshold: thresholds.c2stMaximumAccuracy,
                direction: nil,
                summary: String(format: "C2ST accuracy %.3f against the reference samples (%@ %.2f; 0.5 is indistinguishable)",
                                reference.c2stAccuracy, passed ? "≤" : ">", thresholds.c2stMaximumAccuracy)))
        }
        let failed = checks.filter { !$0.passed }
        return CalibrationVerdict(passed: failed.isEmpty, checks: checks,
                                  direction: consensus(failed.compactMap(\.direction)), thresholds: thresholds)
    }

    /// The one direction all of `directions` name; nil when they are empty or differ.
    static func consensus(_ directions: [Miscalibration]) -> Miscalibration? {
        guard let first = directions.first, directions.allSatisfy({ $0 == first }) else { return nil }
        return first
    }

    static func judgeSBC(_ sbc: SimulationBasedCalibration.Result, _ t: CalibrationThresholds) -> CheckOutcome {
        let p = sbc.smallestCorrectedPValue
        let passed = p >= t.sbcMinimumPValue
        var direction: Miscalibration?
        var worstName = ""
        if !passed, let worst = sbc.parameters.enumerated().min(by: {
            Swift.min($0.element.ksPValue, $0.element.chiSquarePValue) < Swift.min($1.element.ksPValue, $1.element.chiSquarePValue)
        }) {
            let r = worst.element
            worstName = " (worst: θ\(worst.offset))"
            if Swift.abs(r.meanZ) > Swift.abs(r.spreadZ) {
                direction = .biased
            } else {
                direction = r.spreadZ > 0 ? .overConfident : .underConfident
            }
        }
        return CheckOutcome(
            name: "sbc", passed: passed, value: p, threshold: t.sbcMinimumPValue, direction: direction,
            summary: String(format: "SBC rank uniformity: smallest corrected p-value %.3g%@ (%@ %.3g)",
                            p, worstName, passed ? "≥" : "<", t.sbcMinimumPValue))
    }

    static func judgeCoverage(_ c: ExpectedCoverage.Result, _ t: CalibrationThresholds) -> [CheckOutcome] {
        let direction: Miscalibration = c.meanDeviation < 0 ? .overConfident : .underConfident
        let trend = c.meanDeviation < 0 ? "covers too little" : "covers too much"
        var outcomes: [CheckOutcome] = []
        if let excess = c.highestDensityExcess {
            let passed = excess <= t.coverageTolerance
            outcomes.append(CheckOutcome(
                name: "coverage-hpd", passed: passed, value: excess, threshold: t.coverageTolerance,
                direction: passed ? nil : direction,
                summary: String(format: "highest-density coverage: %.3f outside the %@%% simultaneous band%@ (mean deviation %+.3f)",
                                excess, percent(c.bandConfidence), passed ? "" : ", \(trend)", c.meanDeviation)))
        }
        let excess = c.marginalExcess
        let passed = excess <= t.coverageTolerance
        let marginalDeviation = SampleStatistics.mean(c.marginal.flatMap { zip($0, c.levels).map { $0 - $1 } })
        outcomes.append(CheckOutcome(
            name: "coverage-marginal", passed: passed, value: excess, threshold: t.coverageTolerance,
            direction: passed ? nil : (marginalDeviation < 0 ? .overConfident : .underConfident),
            summary: String(format: "marginal interval coverage: %.3f outside the band (mean deviation %+.3f)",
                            excess, marginalDeviation)))
        return outcomes
    }

    /// A confidence as a percentage with the digits it needs: 99, 99.5, 98.75.
    static func percent(_ confidence: Double) -> String {
        let value = 100 * confidence
        for digits in 0...3 {
            let text = String(format: "%.\(digits)f", value)
            if Swift.abs((Double(text) ?? value) - value) < 1e-9 { return text }
        }
        return String(format: "%.3f", value)
    }

    /// TARP's area against a calibrated posterior's: how many of that area's standard errors
    /// it lies away. (The bootstrap error describes this posterior's area, not what chance
    /// gives a calibrated one, and is shown beside it.)
    static func judgeTARP(_ tarp: TARP.Result, _ t: CalibrationThresholds) -> CheckOutcome {
        let z = tarp.areaZ
        let errors = Swift.abs(z)
        let passed = errors <= t.tarpStandardErrors
        return CheckOutcome(
            name: "tarp", passed: passed, value: errors, threshold: t.tarpStandardErrors,
            direction: passed ? nil : (z < 0 ? .overConfident : .underConfident),
            summary: String(format: "TARP area %+.4f (bootstrap ± %.4f): %.1f standard errors of a calibrated posterior's area from its mean, limit %.3g",
                            tarp.area, tarp.areaStandardError, errors, t.tarpStandardErrors))
    }

    /// A few lines for a terminal: the overall result, then one line per check.
    public var rendered: String {
        var lines: [String] = []
        if passed {
            lines.append("verdict: calibrated (\(checks.count) checks passed)")
        } else {
            let failed = checks.filter { !$0.passed }
            let named = Set(failed.compactMap(\.direction))
            let overall = direction.map { ", \($0.rawValue)" }
                ?? (named.count > 1 ? "; the failed checks disagree on the direction" : "")
            lines.append("verdict: NOT calibrated\(overall) (\(failed.count) of \(checks.count) checks failed)")
        }
        for check in checks {
            let direction = check.passed ? "" : check.direction.map { " [\($0.rawValue)]" } ?? ""
            lines.append("  \(check.passed ? "pass" : "FAIL")  \(check.summary)\(direction)")
        }
        return lines.joined(separator: "\n")
    }
}
