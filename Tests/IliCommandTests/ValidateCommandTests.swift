import Foundation
import XCTest

/// `ili train` a small posterior on a 2-parameter Gaussian-linear problem, then
/// `ili validate` it: the command writes validation.json and the plots and prints a verdict.
final class ValidateCommandTests: ScratchDirectoryTestCase {
    /// θ ~ N(0, 0.1 I), x = θ + N(0, 0.1 I), from a fixed stream.
    func simulations(_ n: Int, seed: UInt64) -> (theta: [[Double]], x: [[Double]]) {
        var state = seed
        func normal() -> Double {
            func uniform() -> Double {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                return (Double(state >> 11) + 0.5) * 0x1.0p-53
            }
            return (-2 * log(uniform())).squareRoot() * cos(2 * Double.pi * uniform())
        }
        let s = 0.1.squareRoot()
        let theta = (0..<n).map { _ in [s * normal(), s * normal()] }
        let x = theta.map { t in t.map { $0 + s * normal() } }
        return (theta, x)
    }

    func testValidateWritesReportAndPlotsAndPrintsTheVerdict() throws {
        let train = simulations(2000, seed: 1)
        let test = simulations(100, seed: 2)
        try NPYTestFile.write(train.theta, to: path("theta.npy"))
        try NPYTestFile.write(train.x, to: path("x.npy"))
        try NPYTestFile.write(test.theta, to: path("test_theta.npy"))
        try NPYTestFile.write(test.x, to: path("test_x.npy"))
        try """
            prior:
              normal: {mean: [0, 0], std: [0.31623, 0.31623]}
            data: {theta: theta.npy, x: x.npy}
            inference:
              method: npe
              estimators:
                - {model: mdn, hidden_features: 16, num_components: 1}
            train: {max_epochs: 40, batch_size: 100}
            seed: 1
            out: posterior
            """.write(toFile: path("run.yaml"), atomically: true, encoding: .utf8)
        let trained = try BinaryRunner.run(["train", path("run.yaml"), "--quiet"])
        XCTAssertEqual(trained.status, 0, trained.stdout + trained.stderr)

        let result = try BinaryRunner.run(["validate", "--posterior", path("posterior"), "--theta", path("test_theta.npy"),
                                           "--x", path("test_x.npy"), "--num-samples", "200", "--labels", "a", "b"])
        // 0 calibrated, 2 not: a briefly trained network may be either; 1 would be a failure to run.
        XCTAssertTrue([0, 2].contains(result.status), result.stdout + result.stderr)
        XCTAssertTrue(result.stdout.hasPrefix("verdict: "), result.stdout)
        for check in ["SBC rank uniformity", "highest-density coverage", "TARP area"] {
            XCTAssertTrue(result.stdout.contains(check), result.stdout)
        }
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("posterior/validation.json")))) as? [String: Any]
        XCTAssertEqual(report?["format"] as? String, "ili-validation")
        XCTAssertEqual(report?["testPoints"] as? Int, 100)
        XCTAssertEqual((report?["verdict"] as? [String: Any])?["passed"] as? Bool, result.status == 0)
        let plots = try XCTUnwrap(report?["plots"] as? [String])
        XCTAssertTrue(plots.contains("sbc_ranks.svg") && plots.contains("coverage.svg") && plots.contains("tarp.svg"), "\(plots)")
        for plot in plots {
            XCTAssertTrue(FileManager.default.fileExists(atPath: path("posterior/" + plot)), plot)
        }
    }

    func testValidateRefusesATestSetOfTheWrongWidth() throws {
        try NPYTestFile.write([[0, 0, 0]], to: path("t.npy"))
        try NPYTestFile.write([[0, 0]], to: path("x.npy"))
        let result = try BinaryRunner.run(["validate", "--posterior", path("nowhere"), "--theta", path("t.npy"), "--x", path("x.npy")])
        XCTAssertEqual(result.status, 1, result.stdout + result.stderr)
        XCTAssertTrue(result.stderr.hasPrefix("Error: "), result.stderr)
    }
}
