import ILIValidation
import XCTest

/// The verdict names a direction per failed check, and an overall one only when the
/// failed checks agree: no vote that contradicts a check's own reading.
final class VerdictDirectionTests: XCTestCase {
    static let task = GaussianLinear()
    static let testSet: (theta: Matrix<Double>, x: Matrix<Double>) = {
        var rng = RandomSource(seed: 77)
        return task.simulations(300, rng: &rng)
    }()

    func verdict(_ posterior: GaussianPosterior) throws -> CalibrationVerdict {
        try ValidationSuite(samplesPerPoint: 300, seed: 5).run(posterior: posterior, theta: Self.testSet.theta,
                                                              observations: Self.testSet.x).verdict
    }

    /// A posterior of the right width, shifted by one standard deviation: SBC reads the ranks
    /// as biased, the coverage checks as over-confident. Before, the vote said over-confident.
    func testChecksThatDisagreeGiveNoOverallDirection() throws {
        let task = Self.task
        let shifted = GaussianPosterior(prior: task.prior, slope: task.posteriorShrinkage,
                                        offset: task.posteriorVariance.squareRoot(), variance: task.posteriorVariance)
        let v = try verdict(shifted)
        XCTAssertFalse(v.passed)
        let named = Set(v.checks.filter { !$0.passed }.compactMap(\.direction))
        XCTAssertTrue(named.contains(.biased) && named.count > 1, v.rendered)
        XCTAssertNil(v.direction, v.rendered)
        let lines = v.rendered.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines[0].hasPrefix("verdict: NOT calibrated; the failed checks disagree on the direction"), lines[0])
        for (check, line) in zip(v.checks, lines.dropFirst()) where !check.passed {
            XCTAssertTrue(line.hasSuffix("[\(check.direction!.rawValue)]"), line)
        }
        // validation.json carries each check's direction and no overall one.
        let report = try ValidationSuite(samplesPerPoint: 300, seed: 5).run(posterior: shifted, theta: Self.testSet.theta,
                                                                          observations: Self.testSet.x)
        let json = try JSONSerialization.jsonObject(with: report.encoded()) as? [String: Any]
        let verdictJSON = try XCTUnwrap(json?["verdict"] as? [String: Any])
        XCTAssertNil(verdictJSON["direction"])
        XCTAssertTrue((verdictJSON["checks"] as? [[String: Any]] ?? []).contains { $0["direction"] as? String == "biased" })
    }

    func testChecksThatAgreeNameTheDirection() throws {
        let v = try verdict(GaussianPosterior(task: Self.task, varianceScale: 0.4))
        XCTAssertFalse(v.passed)
        XCTAssertTrue(v.checks.filter { !$0.passed }.allSatisfy { $0.direction == .overConfident }, v.rendered)
        XCTAssertEqual(v.direction, .overConfident, v.rendered)
        XCTAssertTrue(v.rendered.hasPrefix("verdict: NOT calibrated, over-confident ("), v.rendered)
    }
}
