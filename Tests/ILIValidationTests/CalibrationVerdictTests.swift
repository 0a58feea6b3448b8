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

    /// A posterior of the right width centred one posterior standard deviation off: SBC
    /// sees the mean rank shifted rather than spread, and calls it biased. (The overall
    /// verdict's direction is the majority of the failed checks, and both coverage checks
    /// read a shifted posterior as over-confident, so the verdict says over-confident.)
    func testShiftedMeanFailsSBCAsBiased() throws {
        let task = Self.task
        let shifted = GaussianPosterior(prior: task.prior, slope: task.posteriorShrinkage,
                                        offset: task.posteriorVariance.squareRoot(), variance: task.posteriorVariance)
        let report = try ValidationSuite(samplesPerPoint: 400, seed: 11).run(posterior: shifted, theta: Self.testSet.theta,
                                                                           observations: Self.testSet.x)
        XCTAssertFalse(report.verdict.passed)
        let sbc = try XCTUnwrap(report.verdict.checks.first { $0.name == "sbc" })
        XCTAssertFalse(sbc.passed, sbc.summary)
        XCTAssertEqual(sbc.direction, .biased, sbc.summary)
        // Every parameter's truths sit below the shifted posterior: mean credibility far under ½.
        for p in report.sbc.parameters { XCTAssertLessThan(p.meanZ, -5) }
    }

    /// The predictive check at one observation: simulating at the exact posterior's draws
    /// reproduces the observation; a posterior shifted by 1 (2.6 predictive standard
    /// deviations) does not.
    func testPosteriorPredictiveCheckAcceptsTheExactPosteriorAndRejectsAShiftedOne() throws {
        let task = GaussianLinear(dimension: 3)
        var rng = RandomSource(seed: 31)
        let (_, x) = task.simulations(1, rng: &rng)
        let exact = try PosteriorPredictiveCheck.run(posterior: GaussianPosterior(task: task), observation: x,
                                                     simulator: task, count: 2000, rng: &rng)
        XCTAssertEqual(exact.simulations, 2000)
        // Predictive N(x/2, (0.05 + 0.1) I): standard error of a mean 0.39/√2000 ≈ 0.009.
        for j in 0..<3 {
            XCTAssertEqual(exact.predictiveMean[j], x[0, j] / 2, accuracy: 0.04, "component \(j)")
            XCTAssertEqual(exact.predictiveStandardDeviation[j], 0.15.squareRoot(), accuracy: 0.03, "component \(j)")
        }
        XCTAssertGreaterThan(exact.jointTailProbability, 0.05)
        XCTAssertTrue(exact.tailProbabilities.allSatisfy { $0 > 0.05 }, "\(exact.tailProbabilities)")

        let shifted = GaussianPosterior(prior: task.prior, slope: 0.5, offset: 1, variance: 0.05)
        let off = try PosteriorPredictiveCheck.run(posterior: shifted, observation: x, simulator: task, count: 2000, rng: &rng)
        XCTAssertLessThan(off.jointTailProbability, 0.01)
        XCTAssertTrue(off.quantiles.allSatisfy { $0 < 0.05 }, "x_o sits below the shifted predictive: \(off.quantiles)")

        XCTAssertThrowsError(try PosteriorPredictiveCheck.run(posterior: GaussianPosterior(task: task), observation: x.rows(at: [0, 0]),
                                                              simulator: task, rng: &rng)) { error in
            XCTAssertTrue("\(error)".contains("one observation"), "\(error)")
        }
        XCTAssertThrowsError(try PosteriorPredictiveCheck.run(posterior: GaussianPosterior(task: task), observation: x,
                                                              simulator: GaussianLinear(dimension: 2), rng: &rng)) { error in
            XCTAssertTrue("\(error)".contains("the simulator maps θ of width 2"), "\(error)")
        }
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
