import ArgumentParser
import Foundation
import ILIInference
import ILITensor
import ILIValidation

/// The calibration gate's error rates: how often `ili validate`'s verdict fails an exactly
/// calibrated posterior (false alarms) and how often it fails miscalibrated ones (power).
///
/// Every test set is drawn from the Gaussian-linear task, and the same test sets (θ, x) are
/// judged under each case, as `ili validate` judges a posterior: one `ValidationSuite` run per
/// test set and case, with the suite's defaults unless options say otherwise. The cases are
/// the exact posterior, its variance halved (over-confident) and doubled (under-confident),
/// and its mean shifted by half a posterior standard deviation in every parameter.
struct GateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gate",
        abstract: "Rejection rates of the calibration verdict on exact and miscalibrated Gaussian-linear posteriors."
    )

    @Option(help: "Test sets per case; test set k uses seed first-seed + k for its simulations and its validation.")
    var seeds = 100
    @Option(help: "The seed of test set 0.") var firstSeed: UInt64 = 1
    @Option(help: "Test points per test set.") var testPoints = 200
    @Option(help: "Posterior samples per test point (ili validate's default is 1000).") var samples = 1000
    @Option(help: "Parameters of the Gaussian-linear task.") var dimension = 10
    @Option(help: "Cases to run, comma-separated: exact, var0.5, var2, shift0.5 (and var0.8, var1.25, shift0.2).")
    var cases = "exact,var0.5,var2,shift0.5"
    @Option(help: ArgumentHelp("Judge with thresholds that share this false-alarm rate of the whole verdict among the four checks (default: the default thresholds, 0.04).", valueName: "rate"))
    var falseAlarmRate: Double?
    @Flag(help: "One JSON line per case instead of the table.") var json = false

    struct Case {
        var name: String
        var label: String
        var varianceScale: Double
        /// The posterior mean's offset in posterior standard deviations.
        var shift: Double
        /// The direction a correct verdict names; nil for the exact posterior.
        var expected: Miscalibration?
    }

    static let allCases: [Case] = [
        Case(name: "exact", label: "exact", varianceScale: 1, shift: 0, expected: nil),
        Case(name: "var0.5", label: "var×0.5", varianceScale: 0.5, shift: 0, expected: .overConfident),
        Case(name: "var2", label: "var×2", varianceScale: 2, shift: 0, expected: .underConfident),
        Case(name: "shift0.5", label: "mean+0.5sd", varianceScale: 1, shift: 0.5, expected: nil),
        // Subtler ones, not run unless asked: what a stricter false-alarm rate costs.
        Case(name: "var0.8", label: "var×0.8", varianceScale: 0.8, shift: 0, expected: .overConfident),
        Case(name: "var1.25", label: "var×1.25", varianceScale: 1.25, shift: 0, expected: .underConfident),
        Case(name: "shift0.2", label: "mean+0.2sd", varianceScale: 1, shift: 0.2, expected: nil),
    ]

    func validate() throws {
        guard seeds >= 1 else { throw ValidationError("--seeds must be at least 1") }
        guard testPoints >= ValidationSuite.minimumTestPoints else {
            throw ValidationError("--test-points must be at least \(ValidationSuite.minimumTestPoints)")
        }
        guard samples >= 2 else { throw ValidationError("--samples must be at least 2") }
        guard dimension >= 1 else { throw ValidationError("--dimension must be at least 1") }
        if let rate = falseAlarmRate, !(rate > 0 && rate < 1) {
            throw ValidationError("--false-alarm-rate must lie between 0 and 1, e.g. 0.01")
        }
        let known = Set(Self.allCases.map(\.name))
        for name in cases.split(separator: ",") where !known.contains(String(name)) {
            throw ValidationError("--cases: unknown case \(name); choose from \(Self.allCases.map(\.name).joined(separator: ", "))")
        }
    }

    func run() throws {
        let chosen = cases.split(separator: ",").map(String.init)
        let selected = Self.allCases.filter { chosen.contains($0.name) }
        let task = GaussianLinear(dimension: dimension)
        let start = Date()
        var rows: [(Case, [String: Int], Int, Int)] = []
        var checkNames: [String] = []
        for c in selected {
            let posterior = GaussianPosterior(prior: task.prior, slope: task.posteriorShrinkage,
                                              offset: c.shift * task.posteriorVariance.squareRoot(),
                                              variance: task.posteriorVariance * c.varianceScale)
            var failures: [String: Int] = [:]
            var verdictFailures = 0, rightDirection = 0
            for k in 0..<seeds {
                let seed = firstSeed + UInt64(k)
                // The same (θ, x) for every case: the cases differ only in the posterior.
                var rng = RandomSource(seed: seed)
                let (theta, x) = task.simulations(testPoints, rng: &rng)
                var suite = ValidationSuite(samplesPerPoint: samples, seed: seed)
                if let rate = falseAlarmRate { suite.thresholds = CalibrationThresholds(falseAlarmRate: rate) }
                let verdict = try suite.run(posterior: posterior, theta: theta, observations: x).verdict
                for check in verdict.checks {
                    if !checkNames.contains(check.name) { checkNames.append(check.name) }
                    if !check.passed { failures[check.name, default: 0] += 1 }
                }
                if !verdict.passed {
                    verdictFailures += 1
                    if let expected = c.expected, verdict.direction == expected { rightDirection += 1 }
                }
            }
            rows.append((c, failures, verdictFailures, rightDirection))
            if json {
                var fields: [String: Any] = ["name": "gate", "case": c.name, "seeds": seeds, "testPoints": testPoints,
                                             "samples": samples, "dimension": dimension,
                                             "verdictRejections": verdictFailures, "falseAlarmRate": falseAlarmRate ?? CalibrationThresholds().falseAlarmBound]
                for name in checkNames { fields["rejections." + name] = failures[name, default: 0] }
                if c.expected != nil { fields["rightDirection"] = rightDirection }
                printResult(fields)
            }
        }
        guard !json else { return }
        let n = Double(seeds)
        func percent(_ count: Int) -> String { String(format: "%.1f%%", 100 * Double(count) / n) }
        /// The Wilson score interval at 95%: how far the rate could be from the count's.
        func interval(_ count: Int) -> String {
            let z = 1.96, p = Double(count) / n
            let centre = (p + z * z / (2 * n)) / (1 + z * z / n)
            let half = z / (1 + z * z / n) * (p * (1 - p) / n + z * z / (4 * n * n)).squareRoot()
            return String(format: "%.1f–%.1f%%", 100 * Swift.max(0, centre - half), 100 * Swift.min(1, centre + half))
        }
        let thresholds = falseAlarmRate.map { CalibrationThresholds(falseAlarmRate: $0) } ?? CalibrationThresholds()
        print("Rejection rates over \(seeds) test sets (seeds \(firstSeed)–\(firstSeed + UInt64(seeds) - 1)), Gaussian-linear, "
              + "\(dimension) parameters, \(testPoints) test points × \(samples) samples; "
              + String(format: "thresholds bound the verdict's false alarms by %.3g; ", thresholds.falseAlarmBound)
              + String(format: "%.0f s", Date().timeIntervalSince(start)))
        print("| case | " + checkNames.joined(separator: " | ") + " | verdict | verdict, 95% interval | right direction |")
        print("| --- |" + String(repeating: " ---: |", count: checkNames.count + 3))
        for (c, failures, verdictFailures, rightDirection) in rows {
            let cells = checkNames.map { percent(failures[$0, default: 0]) }
            let direction = c.expected == nil ? "–" : percent(rightDirection)
            print("| \(c.label) | " + cells.joined(separator: " | ") + " | \(percent(verdictFailures)) | \(interval(verdictFailures)) | \(direction) |")
        }
    }
}
