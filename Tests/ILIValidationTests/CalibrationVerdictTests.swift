import ILIValidation
import XCTest

/// The exact Gaussian-linear posterior, and the same with its variance halved and doubled,
/// on one fixed test set: the verdict must pass the first and name the direction of the others.
final class CalibrationVerdictTests: XCTestCase {
    static let task = GaussianLinear()
    static let testSet: (theta: Matrix<Double>, x: Matrix<Double>) = {
        var rng = RandomSource(seed: 2024)
        return task.simulations(400, rng: &rng)
    }()

    func report(varianceScale: Double) throws -> ValidationReport {
        let suite = ValidationSuite(samplesPerPoint: 400, seed: 11)
        return try suite.run(posterior: GaussianPosterior(task: Self.task, varianceScale: varianceScale),
                             theta: Self.testSet.theta, observations: Self.testSet.x)
    }

    func testExactPosteriorPassesEveryCheck() throws {
        let report = try report(varianceScale: 1)
        XCTAssertTrue(report.verdict.passed, report.verdict.rendered)
        XCTAssertEqual(Set(report.verdict.checks.map(\.name)), ["sbc", "coverage-hpd", "coverage-marginal", "tarp"])
        XCTAssertNil(report.verdict.direction)
        // The error bars are honest: RMSE ≈ the posterior std √0.05 = 0.224.
        for p in report.predictions.parameters {
            XCTAssertEqual(p.rootMeanSquareError / p.typicalStandardDeviation, 1, accuracy: 0.15)
        }
    }

    func testShrunkCovarianceFailsAsOverConfident() throws {
        let report = try report(varianceScale: 0.5)
        XCTAssertFalse(report.verdict.passed)
        XCTAssertEqual(report.verdict.direction, .overConfident, report.verdict.rendered)
        for name in ["sbc", "coverage-hpd", "tarp"] {
            let check = try XCTUnwrap(report.verdict.checks.first { $0.name == name })
            XCTAssertFalse(check.passed, report.verdict.rendered)
            XCTAssertEqual(check.direction, .overConfident, check.summary)
        }
        XCTAssertLessThan(report.tarp.area, 0)
    }

    func testWidenedCovarianceFailsAsUnderConfident() throws {
        let report = try report(varianceScale: 2)
        XCTAssertFalse(report.verdict.passed)
        XCTAssertEqual(report.verdict.direction, .underConfident, report.verdict.rendered)
        for name in ["sbc", "coverage-hpd", "tarp"] {
            let check = try XCTUnwrap(report.verdict.checks.first { $0.name == name })
            XCTAssertFalse(check.passed, report.verdict.rendered)
            XCTAssertEqual(check.direction, .underConfident, check.summary)
        }
        XCTAssertGreaterThan(report.tarp.area, 0)
    }

    func testReportRoundTripsThroughJSON() throws {
        let report = try report(varianceScale: 1)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ili-validation-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try report.write(to: path)
        XCTAssertEqual(try ValidationReport.read(from: path), report)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any]
        XCTAssertEqual(json?["format"] as? String, "ili-validation")
        XCTAssertNotNil((json?["verdict"] as? [String: Any])?["passed"])
    }

    func testRefusesMismatchedTestSet() {
        let suite = ValidationSuite(samplesPerPoint: 10, seed: 1)
        XCTAssertThrowsError(try suite.run(posterior: GaussianPosterior(task: Self.task),
                                           theta: Self.testSet.theta, observations: Self.testSet.x.rows(at: [0, 1]))) { error in
            XCTAssertTrue("\(error)".contains("one x row per θ row"), "\(error)")
        }
    }
}
