import Foundation
import XCTest

/// `ili train` a posterior on a 2-parameter Gaussian-linear problem, then `ili validate` it:
/// the command writes validation.json and the plots, prints a verdict, and exits 0 for a
/// calibrated posterior, 2 for one that is not, and 1 when validation cannot run.
///
/// θ ~ N(0, 0.1 I) and x = θ + N(0, 0.1 I), whose exact posterior N(x/2, 0.05 I) is in the
/// family of a one-component mixture density network, so a well-trained one is calibrated.
final class ValidateCommandTests: ScratchDirectoryTestCase {
    /// Standard normal draws from a fixed stream (a linear congruential generator and
    /// Box–Muller), so that the test files need nothing from the code under test.
    struct NormalStream {
        var state: UInt64
        mutating func next() -> Double {
            func uniform() -> Double {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                return (Double(state >> 11) + 0.5) * 0x1.0p-53
            }
            return (-2 * log(uniform())).squareRoot() * cos(2 * Double.pi * uniform())
        }
    }

    static let scale = 0.1.squareRoot()

    /// θ ~ N(0, 0.1 I), x = θ + N(0, 0.1 I).
    static func simulations(_ n: Int, seed: UInt64) -> (theta: [[Double]], x: [[Double]]) {
        var normal = NormalStream(state: seed)
        let theta = (0..<n).map { _ in [scale * normal.next(), scale * normal.next()] }
        let x = theta.map { t in t.map { $0 + scale * normal.next() } }
        return (theta, x)
    }

    /// Samples of the exact posterior N(x/2 + shift, 0.05 I) at `x`.
    static func exactPosteriorSamples(_ n: Int, at x: [Double], shift: Double = 0, seed: UInt64) -> [[Double]] {
        var normal = NormalStream(state: seed)
        return (0..<n).map { _ in x.map { $0 / 2 + shift + 0.05.squareRoot() * normal.next() } }
    }

    // MARK: - One trained posterior for the whole class

    static let sharedDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("ili-validate-\(UUID().uuidString)")

    /// The posterior directory, trained on first use: 4,000 simulations, an MDN of one
    /// full-covariance Gaussian, 120 epochs at most.
    static let trainedPosterior: Result<String, Error> = Result {
        let dir = sharedDirectory
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let train = simulations(4000, seed: 1)
        try NPYTestFile.write(train.theta, to: dir.appendingPathComponent("theta.npy").path)
        try NPYTestFile.write(train.x, to: dir.appendingPathComponent("x.npy").path)
        try """
            prior:
              normal: {mean: [0, 0], std: [0.31623, 0.31623]}
            data: {theta: theta.npy, x: x.npy}
            inference:
              method: npe
              estimators:
                - {model: mdn, hidden_features: 16, num_components: 1}
            train: {max_epochs: 120, batch_size: 100}
            seed: 1
            out: posterior
            """.write(to: dir.appendingPathComponent("run.yaml"), atomically: true, encoding: .utf8)
        let trained = try BinaryRunner.run(["train", dir.appendingPathComponent("run.yaml").path, "--quiet"])
        guard trained.status == 0 else {
            throw NSError(domain: "ili train", code: Int(trained.status), userInfo: [NSLocalizedDescriptionKey: trained.stdout + trained.stderr])
        }
        return dir.appendingPathComponent("posterior").path
    }

    override class func tearDown() {
        try? FileManager.default.removeItem(at: sharedDirectory)
        super.tearDown()
    }

    /// Writes a held-out test set (seed 2) to test_theta.npy and test_x.npy, θ and x
    /// multiplied by `scale`.
    func writeTestSet(points: Int = 200, scale: Double = 1) throws {
        let test = Self.simulations(points, seed: 2)
        try NPYTestFile.write(test.theta.map { $0.map { $0 * scale } }, to: path("test_theta.npy"))
        try NPYTestFile.write(test.x.map { $0.map { $0 * scale } }, to: path("test_x.npy"))
    }

    func validate(_ extra: [String] = [], out: String = "report") throws -> BinaryRunner.Result {
        let posterior = try Self.trainedPosterior.get()
        return try BinaryRunner.run(["validate", "--posterior", posterior, "--theta", path("test_theta.npy"),
                                     "--x", path("test_x.npy"), "--num-samples", "200", "--out", path(out)] + extra)
    }

    func report(_ out: String = "report") throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path(out + "/validation.json")))
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    func checks(_ report: [String: Any]) -> [String: [String: Any]] {
        let list = ((report["verdict"] as? [String: Any])?["checks"] as? [[String: Any]]) ?? []
        return Dictionary(list.map { ($0["name"] as? String ?? "", $0) }, uniquingKeysWith: { a, _ in a })
    }

    // MARK: - Tests

    func testACalibratedPosteriorExitsZeroAndWritesReportAndPlots() throws {
        try writeTestSet()
        let result = try validate(["--labels", "a", "b"])
        XCTAssertEqual(result.status, 0, "the exact family, well trained, is calibrated:\n" + result.stdout + result.stderr)
        XCTAssertTrue(result.stdout.hasPrefix("verdict: calibrated"), result.stdout)
        for check in ["SBC rank uniformity", "highest-density coverage", "marginal interval coverage", "TARP area"] {
            XCTAssertTrue(result.stdout.contains("pass  " + check), "\(check) in:\n\(result.stdout)")
        }
        let report = try report()
        XCTAssertEqual(report["format"] as? String, "ili-validation")
        XCTAssertEqual(report["testPoints"] as? Int, 200)
        XCTAssertEqual((report["verdict"] as? [String: Any])?["passed"] as? Bool, true)
        let plots = try XCTUnwrap(report["plots"] as? [String])
        XCTAssertTrue(plots.contains("sbc_ranks.svg") && plots.contains("coverage.svg") && plots.contains("tarp.svg"), "\(plots)")
        XCTAssertTrue(plots.contains("training_curves.svg"), "the posterior directory has training.json: \(plots)")
        for plot in plots {
            XCTAssertTrue(FileManager.default.fileExists(atPath: path("report/" + plot)), plot)
        }
    }

    /// The same posterior on a test set with θ and x doubled: the true posterior of that
    /// problem is N(x/2, 0.2 I), four times the variance the network learned.
    func testAMisScaledPosteriorExitsTwoAsOverConfident() throws {
        try writeTestSet(scale: 2)
        let result = try validate()
        XCTAssertEqual(result.status, 2, result.stdout + result.stderr)
        XCTAssertTrue(result.stdout.hasPrefix("verdict: NOT calibrated, over-confident"), result.stdout)
        let report = try report()
        XCTAssertEqual((report["verdict"] as? [String: Any])?["passed"] as? Bool, false)
        XCTAssertEqual((report["verdict"] as? [String: Any])?["direction"] as? String, "over-confident")
    }

    func testATestSetOfTheWrongWidthIsRefusedNamingTheFileAndTheWidth() throws {
        try writeTestSet()
        try NPYTestFile.write([[0, 0, 0], [1, 1, 1]], to: path("wide_theta.npy"))
        let posterior = try Self.trainedPosterior.get()
        let wideTheta = try BinaryRunner.run(["validate", "--posterior", posterior, "--theta", path("wide_theta.npy"),
                                              "--x", path("test_x.npy")])
        XCTAssertEqual(wideTheta.status, 1, wideTheta.stdout + wideTheta.stderr)
        XCTAssertTrue(wideTheta.stderr.hasPrefix("Error: "), wideTheta.stderr)
        XCTAssertTrue(wideTheta.stderr.contains("wide_theta.npy") && wideTheta.stderr.contains("2×3")
                      && wideTheta.stderr.contains("width 2"), wideTheta.stderr)

        try NPYTestFile.write([[0, 0, 0]], to: path("wide_x.npy"))
        let wideX = try BinaryRunner.run(["validate", "--posterior", posterior, "--theta", path("test_theta.npy"),
                                          "--x", path("wide_x.npy")])
        XCTAssertEqual(wideX.status, 1, wideX.stdout + wideX.stderr)
        XCTAssertTrue(wideX.stderr.contains("wide_x.npy") && wideX.stderr.contains("width 2"), wideX.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("report/validation.json")))
    }

    /// C2ST against reference samples of the exact posterior at one observation passes;
    /// against samples shifted by two posterior standard deviations it fails.
    func testC2STWithReferenceSamples() throws {
        try writeTestSet()
        let observation = [0.3, -0.2]
        try NPYTestFile.write([observation], to: path("xo.npy"))
        try NPYTestFile.write(Self.exactPosteriorSamples(1000, at: observation, seed: 5), to: path("exact.npy"))
        try NPYTestFile.write(Self.exactPosteriorSamples(1000, at: observation, shift: 2 * 0.05.squareRoot(), seed: 6), to: path("shifted.npy"))

        let exact = try validate(["--reference", path("exact.npy"), "--observation", path("xo.npy")], out: "exact")
        XCTAssertEqual(exact.status, 0, exact.stdout + exact.stderr)
        XCTAssertTrue(exact.stdout.contains("pass  C2ST accuracy"), exact.stdout)
        let exactReport = try report("exact")
        let accuracy = try XCTUnwrap((exactReport["reference"] as? [String: Any])?["c2stAccuracy"] as? Double)
        XCTAssertLessThan(accuracy, 0.6)
        XCTAssertEqual((exactReport["reference"] as? [String: Any])?["samples"] as? Int, 1000)
        XCTAssertEqual(checks(exactReport)["c2st"]?["passed"] as? Bool, true)

        let shifted = try validate(["--reference", path("shifted.npy"), "--observation", path("xo.npy")], out: "shifted")
        XCTAssertEqual(shifted.status, 2, shifted.stdout + shifted.stderr)
        XCTAssertTrue(shifted.stdout.contains("FAIL  C2ST accuracy"), shifted.stdout)
        let shiftedCheck = try XCTUnwrap(checks(try report("shifted"))["c2st"])
        XCTAssertEqual(shiftedCheck["passed"] as? Bool, false)
        XCTAssertGreaterThan(try XCTUnwrap(shiftedCheck["value"] as? Double), 0.6)

        let alone = try validate(["--reference", path("exact.npy")], out: "alone")
        XCTAssertEqual(alone.status, 64, "a command-line mistake: " + alone.stdout + alone.stderr)
        XCTAssertTrue(alone.stderr.contains("--reference needs --observation"), alone.stderr)
    }

    /// Each threshold flag reaches its check and validation.json: thresholds no posterior
    /// can meet fail a calibrated one, and an impossible band is refused before anything runs.
    func testThresholdFlagsAreAppliedAndRecorded() throws {
        try writeTestSet()
        let observation = [0.3, -0.2]
        try NPYTestFile.write([observation], to: path("xo.npy"))
        try NPYTestFile.write(Self.exactPosteriorSamples(1000, at: observation, seed: 5), to: path("exact.npy"))
        let strict = try validate(["--sbc-min-p", "1.5", "--coverage-tolerance=-1", "--coverage-band", "0.5",
                                   "--tarp-sigmas", "0", "--c2st-max", "0.1",
                                   "--reference", path("exact.npy"), "--observation", path("xo.npy")])
        XCTAssertEqual(strict.status, 2, strict.stdout + strict.stderr)
        let report = try report()
        let thresholds = try XCTUnwrap((report["verdict"] as? [String: Any])?["thresholds"] as? [String: Any])
        XCTAssertEqual(thresholds["sbcMinimumPValue"] as? Double, 1.5)
        XCTAssertEqual(thresholds["coverageTolerance"] as? Double, -1)
        XCTAssertEqual(thresholds["coverageBandConfidence"] as? Double, 0.5)
        XCTAssertEqual(thresholds["tarpStandardErrors"] as? Double, 0)
        XCTAssertEqual(thresholds["c2stMaximumAccuracy"] as? Double, 0.1)
        let outcome = checks(report)
        for name in ["sbc", "coverage-hpd", "coverage-marginal", "tarp", "c2st"] {
            XCTAssertEqual(outcome[name]?["passed"] as? Bool, false, "\(name) under an impossible threshold: \(strict.stdout)")
        }
        XCTAssertEqual(outcome["tarp"]?["threshold"] as? Double, 0)
        XCTAssertEqual((report["coverage"] as? [String: Any])?["bandConfidence"] as? Double, 0.5)

        let badBand = try validate(["--coverage-band", "1.5"], out: "bad")
        XCTAssertNotEqual(badBand.status, 0)
        XCTAssertTrue(badBand.stderr.contains("--coverage-band must lie between 0 and 1"), badBand.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("bad/validation.json")))
    }
}
