import Foundation
import ILITensor
import XCTest

/// A failure while a command runs prints `Error: <message>` alone and exits 1; a mistake in
/// the command line prints argument-parser's message with the usage and exits 64.
final class ErrorReportingCommandTests: ScratchDirectoryTestCase {
    func assertRuntimeFailure(_ result: BinaryRunner.Result, mentions expected: String,
                              file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(result.status, 1, result.stdout + result.stderr, file: file, line: line)
        XCTAssertTrue(result.stderr.hasPrefix("Error: "), result.stderr, file: file, line: line)
        XCTAssertTrue(result.stderr.contains(expected), "expected '\(expected)' in: \(result.stderr)", file: file, line: line)
        XCTAssertFalse(result.stderr.contains("Usage:"), "a runtime failure printed the usage: \(result.stderr)", file: file, line: line)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, "one line: \(result.stderr)", file: file, line: line)
    }

    func assertUsageError(_ result: BinaryRunner.Result, mentions expected: String,
                          file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(result.status, 64, result.stdout + result.stderr, file: file, line: line)
        XCTAssertTrue(result.stderr.hasPrefix("Error: "), result.stderr, file: file, line: line)
        XCTAssertTrue(result.stderr.contains(expected), "expected '\(expected)' in: \(result.stderr)", file: file, line: line)
        XCTAssertTrue(result.stderr.contains("Usage:"), result.stderr, file: file, line: line)
    }

    func testAnObservationOfTheWrongWidthIsARuntimeFailure() throws {
        let posterior = try SmallPosteriors.directory("npe")
        try NPYFile.write(Matrix<Double>([[0.1, 0.2, 0.3]]), to: path("wide.npy"))
        let result = try BinaryRunner.run(["sample", "--posterior", posterior, "--obs", path("wide.npy"),
                                           "--num-samples", "10", "--out", path("s.npy")])
        assertRuntimeFailure(result, mentions: "wide.npy")
    }

    func testABadChainsValueForAnMCMCPosteriorIsARuntimeFailure() throws {
        let posterior = try SmallPosteriors.directory("nle")
        try NPYFile.write(Matrix<Double>([[0.1, 0.2]]), to: path("obs.npy"))
        let result = try BinaryRunner.run(["sample", "--posterior", posterior, "--obs", path("obs.npy"),
                                           "--num-samples", "10", "--out", path("s.npy"), "--chains", "1"])
        assertRuntimeFailure(result, mentions: "--chains: ")
    }

    func testMissingFilesAreRuntimeFailures() throws {
        assertRuntimeFailure(try BinaryRunner.run(["sample", "--posterior", path("nowhere"), "--obs", path("obs.npy"),
                                                   "--out", path("s.npy")]), mentions: "nowhere")
        assertRuntimeFailure(try BinaryRunner.run(["plot", "corner", "--samples", path("missing.npy"), "--out", path("c.svg")]),
                             mentions: "missing.npy")
        assertRuntimeFailure(try BinaryRunner.run(["plot", "training", "--training", path("missing"), "--out", path("t.svg")]),
                             mentions: "missing")
        try NPYTestFile.write([[0, 0]], to: path("t.npy"))
        assertRuntimeFailure(try BinaryRunner.run(["validate", "--posterior", path("nowhere"), "--theta", path("t.npy"),
                                                   "--x", path("t.npy")]), mentions: "nowhere")
    }

    func testCommandLineMistakesStayUsageErrors() throws {
        assertUsageError(try BinaryRunner.run(["sample", "--posterior", "p", "--obs", "o.npy", "--out", "s.npy", "--bogus"]),
                         mentions: "--bogus")
        assertUsageError(try BinaryRunner.run(["sample", "--posterior", "p", "--obs", "o.npy", "--out", "s.npy", "--num-samples", "0"]),
                         mentions: "--num-samples must be at least 1")
        assertUsageError(try BinaryRunner.run(["validate", "--posterior", "p", "--theta", "t.npy", "--x", "x.npy",
                                               "--reference", "r.npy"]), mentions: "--reference needs --observation")
        assertUsageError(try BinaryRunner.run(["registry", "export", "model-3", path("out"), "--registry", "sqlite:" + path("r.db")]),
                         mentions: "is not a posterior id")
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "ILI_REGISTRY")
        assertUsageError(try BinaryRunner.run(["registry", "experiments"], environment: environment), mentions: "ILI_REGISTRY")
    }

    func testHelpAndVersionExitCleanly() throws {
        let help = try BinaryRunner.run(["sample", "--help"])
        XCTAssertEqual(help.status, 0, help.stderr)
        XCTAssertTrue(help.stdout.contains("USAGE: ili sample"), help.stdout)
        let version = try BinaryRunner.run(["--version"])
        XCTAssertEqual(version.status, 0, version.stderr)
        XCTAssertFalse(version.stdout.isEmpty)
        let bare = try BinaryRunner.run([])
        XCTAssertEqual(bare.status, 0, bare.stderr)
        XCTAssertTrue(bare.stdout.contains("SUBCOMMANDS"), bare.stdout)
    }
}
