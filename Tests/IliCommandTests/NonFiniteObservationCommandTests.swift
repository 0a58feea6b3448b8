import Foundation
import ILITensor
import XCTest

/// An observation holding NaN or ±∞ is refused before sampling, naming the file, the row
/// and the index, instead of failing after a million draws with a message about the prior.
final class NonFiniteObservationCommandTests: ScratchDirectoryTestCase {
    func testSampleNamesTheFileAndIndexOfANaN() throws {
        let posterior = try SmallPosteriors.directory("npe")
        try NPYFile.write(Matrix<Double>([[0.1, .nan]]), to: path("obs.npy"), oneDimensional: true)
        let result = try BinaryRunner.run(["sample", "--posterior", posterior, "--obs", path("obs.npy"),
                                           "--num-samples", "10", "--out", path("s.npy")])
        XCTAssertEqual(result.status, 1, result.stdout + result.stderr)
        XCTAssertTrue(result.stderr.hasPrefix("Error: \(path("obs.npy")): the observation holds nan at index 1"), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("s.npy")))
    }

    func testSampleNamesTheRowOfAnInfinityForAnMCMCPosterior() throws {
        let posterior = try SmallPosteriors.directory("nle")
        try NPYFile.write(Matrix<Double>([[0.1, 0.2], [.infinity, 0.2]]), to: path("obs.npy"))
        let result = try BinaryRunner.run(["sample", "--posterior", posterior, "--obs", path("obs.npy"),
                                           "--num-samples", "10", "--out", path("s.npy")])
        XCTAssertEqual(result.status, 1, result.stdout + result.stderr)
        XCTAssertTrue(result.stderr.contains("observation 1 (row 1) holds inf at index 0"), result.stderr)
    }

    func testValidateNamesTheTestFileAndRow() throws {
        let posterior = try SmallPosteriors.directory("npe")
        var rng = RandomSource(seed: 4)
        let theta = Matrix<Double>(rows: 30, cols: 2) { _, _ in rng.uniform(in: -0.9, 0.9) }
        var x = theta
        x[17, 1] = .nan
        try NPYFile.write(theta, to: path("theta.npy"))
        try NPYFile.write(x, to: path("x.npy"))
        let result = try BinaryRunner.run(["validate", "--posterior", posterior, "--theta", path("theta.npy"),
                                           "--x", path("x.npy"), "--out", path("v")])
        XCTAssertEqual(result.status, 1, result.stdout + result.stderr)
        XCTAssertTrue(result.stderr.contains("\(path("x.npy")): test point 17 (row 17) holds nan at index 1"), result.stderr)
    }
}
