import Foundation
import ILITensor
import XCTest

/// `ili validate` refuses what it cannot judge before it samples (labels of the wrong count,
/// too small a test set), takes the sampler flags of `ili sample`, and shows its progress on
/// a terminal only.
final class ValidateOptionsCommandTests: ScratchDirectoryTestCase {
    /// `count` test points near the middle of the prior's box, x ≈ θ as the small posteriors learned.
    func writeTestSet(_ count: Int) throws {
        var rng = RandomSource(seed: 9)
        let theta = Matrix<Double>(rows: count, cols: 2) { _, _ in rng.uniform(in: -0.8, 0.8) }
        let x = Matrix<Double>(rows: count, cols: 2) { i, j in theta[i, j] + 0.1 * rng.normal() }
        try NPYFile.write(theta, to: path("theta.npy"))
        try NPYFile.write(x, to: path("x.npy"))
    }

    func validate(_ posterior: String, _ extra: [String]) throws -> BinaryRunner.Result {
        try BinaryRunner.run(["validate", "--posterior", posterior, "--theta", path("theta.npy"), "--x", path("x.npy"),
                              "--out", path("out"), "--num-samples", "50"] + extra)
    }

    func testLabelsOfTheWrongCountAreRefusedBeforeSampling() throws {
        try writeTestSet(30)
        let result = try validate(try SmallPosteriors.directory("npe"), ["--labels", "a", "b", "c"])
        XCTAssertEqual(result.status, 1, result.stdout + result.stderr)
        XCTAssertTrue(result.stderr.contains("3 --labels for a posterior of 2 parameters"), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("out/validation.json")))
    }

    func testATestSetTooSmallToJudgeIsRefusedWithTheMinimum() throws {
        for count in [1, 19] {
            try writeTestSet(count)
            let result = try validate(try SmallPosteriors.directory("npe"), [])
            XCTAssertEqual(result.status, 1, result.stdout + result.stderr)
            XCTAssertTrue(result.stderr.contains("holds \(count) test point") && result.stderr.contains("at least 20"), result.stderr)
            XCTAssertFalse(result.stdout.contains("inf standard errors"), result.stdout)
        }
        try writeTestSet(20)
        let enough = try validate(try SmallPosteriors.directory("npe"), [])
        XCTAssertTrue([0, 2].contains(enough.status), enough.stdout + enough.stderr)
    }

    func testSamplerFlagsReachTheSamplerAndAreChecked() throws {
        try writeTestSet(20)
        let nle = try SmallPosteriors.directory("nle")
        let badChains = try validate(nle, ["--chains", "1"])
        XCTAssertEqual(badChains.status, 1, badChains.stdout + badChains.stderr)
        XCTAssertTrue(badChains.stderr.contains("--chains: "), badChains.stderr)
        let ensemble = try validate(nle, ["--sampler", "ensemble", "--chains", "3"])
        XCTAssertEqual(ensemble.status, 1, ensemble.stdout + ensemble.stderr)
        XCTAssertTrue(ensemble.stderr.contains("--chains: the ensemble sampler needs at least 2·d = 4"), ensemble.stderr)
        let npe = try validate(try SmallPosteriors.directory("npe"), ["--warmup", "10"])
        XCTAssertEqual(npe.status, 1, npe.stdout + npe.stderr)
        XCTAssertTrue(npe.stderr.contains("is an NPE posterior"), npe.stderr)

        // Two chains cannot agree at every one of 20 test points; the advice doubles the
        // chains and warm-up that ran, so it shows the flags reached the sampler.
        let short = try validate(nle, ["--chains", "2", "--warmup", "80", "--thin", "2"])
        XCTAssertTrue([0, 2].contains(short.status), short.stdout + short.stderr)
        XCTAssertTrue(short.stderr.contains("more chains (--chains 4), a longer warm-up (--warmup 160) or thinning (--thin 10)"), short.stderr)
    }

    func testProgressOnlyOnATerminal() throws {
        try writeTestSet(20)
        let posterior = try SmallPosteriors.directory("npe")
        let piped = try validate(posterior, [])
        XCTAssertTrue([0, 2].contains(piped.status), piped.stdout + piped.stderr)
        XCTAssertFalse(piped.stderr.contains("validating") || piped.stderr.contains("\r"), piped.stderr)

        // `script` runs the command on a pseudo-terminal, as a user's shell would.
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/script") else { throw XCTSkip("no /usr/bin/script for a terminal") }
        let command = ([BinaryRunner.productsDirectory.appendingPathComponent("ili").path, "validate", "--posterior", posterior,
                        "--theta", path("theta.npy"), "--x", path("x.npy"), "--out", path("tty"), "--num-samples", "50"])
            .map { "'\($0)'" }.joined(separator: " ")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        process.arguments = ["-qec", command, "/dev/null"]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertTrue(text.contains("validating: 20/20 test points"), text)
        XCTAssertTrue(text.contains("verdict: "), text)
        let quiet = try validate(posterior, ["--quiet"])
        XCTAssertTrue([0, 2].contains(quiet.status), quiet.stdout + quiet.stderr)
    }
}
