import Foundation
import ILITensor
import XCTest

/// MCMC diagnostics out of bounds are reported for someone at the command line: where,
/// which flags to change, and a file only when the command wrote it.
final class SamplerWarningCommandTests: ScratchDirectoryTestCase {
    func testSampleWarningsNameTheFlagsAndTheDiagnosticsFileItWrote() throws {
        let posterior = try SmallPosteriors.directory("nle")
        try NPYFile.write(Matrix<Double>([[0.1, 0.2], [0.5, -0.4], [-0.3, 0.3], [0.6, 0.6]]), to: path("obs.npy"))
        let result = try BinaryRunner.run(["sample", "--posterior", posterior, "--obs", path("obs.npy"), "--num-samples", "20",
                                           "--out", path("s.npy"), "--chains", "2", "--warmup", "0"])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        let warnings = result.stderr.split(separator: "\n").filter { $0.hasPrefix("warning: ") }
        XCTAssertFalse(warnings.isEmpty, result.stderr)
        XCTAssertTrue(result.stderr.contains("each observation's R-hat and ESS are in \(path("s.diagnostics.json"))"), result.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("s.diagnostics.json")))
        XCTAssertTrue(result.stderr.contains("more chains (--chains 4), a longer warm-up (--warmup 100)"), result.stderr)
        XCTAssertFalse(result.stderr.contains("lastDiagnostics"), result.stderr)
    }

    func testValidateWarningsNameTestPointsAndNoFile() throws {
        let posterior = try SmallPosteriors.directory("nle")
        var rng = RandomSource(seed: 5)
        let theta = Matrix<Double>(rows: 24, cols: 2) { _, _ in rng.uniform(in: -0.8, 0.8) }
        try NPYFile.write(theta, to: path("theta.npy"))
        try NPYFile.write(theta, to: path("x.npy"))
        let result = try BinaryRunner.run(["validate", "--posterior", posterior, "--theta", path("theta.npy"), "--x", path("x.npy"),
                                           "--out", path("v"), "--num-samples", "20", "--chains", "2", "--warmup", "0"])
        XCTAssertTrue([0, 2].contains(result.status), result.stdout + result.stderr)
        XCTAssertTrue(result.stderr.contains("warning: test point "), result.stderr)
        XCTAssertTrue(result.stderr.contains("run again with more chains (--chains 4)"), result.stderr)
        XCTAssertFalse(result.stderr.contains("diagnostics.json") || result.stderr.contains("lastDiagnostics"), result.stderr)
    }
}
