import Foundation
import ILITensor

/// Runs every check on a held-out test set and judges the result: the library side of
/// `ili validate`.
///
/// ```swift
/// let suite = ValidationSuite(samplesPerPoint: 1000, seed: 7)
/// let report = try suite.run(posterior: posterior, theta: testTheta, observations: testX)
/// print(report.verdict.rendered)
/// try report.write(to: "run/validation.json")
/// ```
public struct ValidationSuite: Sendable {
    public var samplesPerPoint: Int
    public var seed: UInt64
    public var coverageLevels: [Double] = ExpectedCoverage.standardLevels
    /// SBC histogram bins; nil chooses about one per ten test points.
    public var sbcBins: Int?
    public var tarpBootstrapCount: Int = 200
    public var thresholds = CalibrationThresholds()
    /// Test points per posterior call.
    public var chunkSize: Int = 100

    /// The fewest test points the checks can judge. Below 20 the 99% coverage band spans
    /// more than ±0.29 around a credible level of ½ and SBC's histogram has two bins, so
    /// hardly any posterior could fail; a single point gives TARP no bootstrap spread at all.
    public static let minimumTestPoints = 20

    public init(samplesPerPoint: Int = 1000, seed: UInt64 = 1) {
        self.samplesPerPoint = samplesPerPoint
        self.seed = seed
    }

    /// Draws the samples, computes SBC, coverage, TARP and predictions, and, when
    /// `reference` samples of the true posterior at `referenceObservation` are given, C2ST.
    /// Samples are reduced chunk by chunk (`TestSetDraws.draw`), so memory stays bounded
    /// however many test points there are; `progress` hears after each chunk how many
    /// test points are done.
    public func run(posterior: any Posterior, theta: Matrix<Double>, observations: Matrix<Double>,
                    reference: Matrix<Double>? = nil, referenceObservation: Matrix<Double>? = nil,
                    progress: ((_ pointsDone: Int, _ testPoints: Int) -> Void)? = nil) throws -> ValidationReport {
        guard theta.rows >= Self.minimumTestPoints else {
            throw ValidationSuiteError("the test set has \(theta.rows) point\(theta.rows == 1 ? "" : "s"); validation needs at least \(Self.minimumTestPoints) held-out simulations to judge calibration (a few hundred are usual)")
        }
        var rng = RandomSource(seed: seed)
        var drawRNG = rng.split()
        var tarpRNG = rng.split()
        var referenceRNG = rng.split()
        // TARP's reference points come first from its stream, as TARP.evaluate would draw
        // them, so that the ranks are counted while the samples stream past.
        let tarpReferences = TARP.references(testPoints: theta.rows, parameterCount: theta.cols, rng: &tarpRNG)
        let draws = try TestSetDraws.draw(from: posterior, theta: theta, observations: observations,
                                          samplesPerPoint: samplesPerPoint, rng: &drawRNG, chunkSize: chunkSize,
                                          tarpReferences: tarpReferences, progress: progress)
        var comparison: ReferenceComparison.Result?
        if let reference {
            guard let referenceObservation else {
                throw ValidationSuiteError("reference samples were given without the observation they belong to; pass both")
            }
            comparison = try ReferenceComparison.run(posterior: posterior, observation: referenceObservation,
                                                     reference: reference, rng: &referenceRNG)
        }
        return evaluate(draws, logProbIsNormalized: posterior.logProbIsNormalized, reference: comparison, rng: &tarpRNG)
    }

    /// The checks and verdict on samples already drawn.
    public func evaluate(_ draws: TestSetDraws, logProbIsNormalized: Bool = true,
                         reference: ReferenceComparison.Result? = nil, rng: inout RandomSource) -> ValidationReport {
        let sbc = SimulationBasedCalibration.evaluate(draws, bins: sbcBins)
        let coverage = ExpectedCoverage.evaluate(draws, levels: coverageLevels, bandConfidence: thresholds.coverageBandConfidence)
        let tarp = TARP.evaluate(draws, bootstrapCount: tarpBootstrapCount, rng: &rng)
        let predictions = Predictions.evaluate(draws, logProbIsNormalized: logProbIsNormalized)
        let verdict = CalibrationVerdict.judge(sbc: sbc, coverage: coverage, tarp: tarp, reference: reference,
                                               thresholds: thresholds)
        return ValidationReport(testPoints: draws.testPoints, parameterCount: draws.parameterCount,
                                samplesPerPoint: draws.samplesPerPoint, seed: seed,
                                verdict: verdict, sbc: sbc, coverage: coverage, tarp: tarp,
                                predictions: predictions, reference: reference)
    }
}

/// Everything a validation run found, as stored in `validation.json` (see `schemas/validation.md`).
///
/// ```swift
/// let report = try ValidationReport.read(from: "posterior/validation.json")
/// report.verdict.passed
/// ```
public struct ValidationReport: Sendable, Codable, Equatable {
    public static let fileName = "validation.json"
    public static let currentFormatVersion = 1

    public var format = "ili-validation"
    public var formatVersion = ValidationReport.currentFormatVersion
    public var testPoints: Int
    public var parameterCount: Int
    public var samplesPerPoint: Int
    public var seed: UInt64
    public var verdict: CalibrationVerdict
    public var sbc: SimulationBasedCalibration.Result
    public var coverage: ExpectedCoverage.Result
    public var tarp: TARP.Result
    public var predictions: Predictions.Result
    public var reference: ReferenceComparison.Result?
    /// The plot files written beside this report, relative to its directory.
    public var plots: [String] = []

    public init(testPoints: Int, parameterCount: Int, samplesPerPoint: Int, seed: UInt64,
                verdict: CalibrationVerdict, sbc: SimulationBasedCalibration.Result, coverage: ExpectedCoverage.Result,
                tarp: TARP.Result, predictions: Predictions.Result, reference: ReferenceComparison.Result?) {
        self.testPoints = testPoints
        self.parameterCount = parameterCount
        self.samplesPerPoint = samplesPerPoint
        self.seed = seed
        self.verdict = verdict
        self.sbc = sbc
        self.coverage = coverage
        self.tarp = tarp
        self.predictions = predictions
        self.reference = reference
    }

    /// Pretty-printed JSON with sorted keys; infinities and NaN as the strings
    /// "Infinity", "-Infinity" and "NaN".
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return try encoder.encode(self)
    }

    public func write(to path: String) throws {
        do {
            try encoded().write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw ValidationSuiteError("could not write \(path): \(error.localizedDescription); check that its directory exists and is writable")
        }
    }

    public static func read(from path: String) throws -> ValidationReport {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ValidationSuiteError("could not read \(path): \(error.localizedDescription)")
        }
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        do {
            let report = try decoder.decode(ValidationReport.self, from: data)
            guard report.format == "ili-validation", report.formatVersion <= currentFormatVersion else {
                throw ValidationSuiteError("\(path) is \(report.format) version \(report.formatVersion); this ili reads ili-validation up to version \(currentFormatVersion)")
            }
            return report
        } catch let error as ValidationSuiteError {
            throw error
        } catch {
            throw ValidationSuiteError("\(path) is not a validation report: \(error)")
        }
    }
}
