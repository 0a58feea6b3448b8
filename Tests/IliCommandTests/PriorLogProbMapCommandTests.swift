import Foundation
import ILITensor
import XCTest

/// `ili prior sample`, `ili log-prob` and `ili map`, as a user without Python runs them.
final class PriorLogProbMapCommandTests: ScratchDirectoryTestCase {
    func writeConfig(_ text: String) throws -> String {
        try text.write(toFile: path("run.yaml"), atomically: true, encoding: .utf8)
        return path("run.yaml")
    }

    func testPriorSampleReadsOnlyThePriorAndIsSeeded() throws {
        // The rest of the file need not be valid: only `prior` is read.
        let config = try writeConfig("""
            prior:
              independent: [{uniform: {low: -1, high: 1}}, {lognormal: {mean: 0, std: 0.5}}]
            inference: {method: not-a-method}
            """)
        let first = try BinaryRunner.run(["prior", "sample", config, "--count", "500", "--out", path("a.npy"), "--seed", "3"])
        XCTAssertEqual(first.status, 0, first.stdout + first.stderr)
        XCTAssertTrue(first.stdout.contains("wrote 500 draws of the 2-parameter prior"), first.stdout)
        let draws = try NPYFile.read(path("a.npy")).matrix(as: Double.self)
        XCTAssertEqual(draws.rows, 500)
        XCTAssertEqual(draws.cols, 2)
        for i in 0..<draws.rows {
            XCTAssertTrue(draws[i, 0] >= -1 && draws[i, 0] <= 1 && draws[i, 1] > 0, "\(draws.row(i))")
        }
        _ = try BinaryRunner.run(["prior", "sample", config, "--count", "500", "--out", path("b.npy"), "--seed", "3"])
        _ = try BinaryRunner.run(["prior", "sample", config, "--count", "500", "--out", path("c.npy"), "--seed", "4"])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path("a.npy"))), try Data(contentsOf: URL(fileURLWithPath: path("b.npy"))))
        XCTAssertNotEqual(try Data(contentsOf: URL(fileURLWithPath: path("a.npy"))), try Data(contentsOf: URL(fileURLWithPath: path("c.npy"))))
    }

    func testPriorSampleNamesAMissingOrBadPrior() throws {
        let missing = try BinaryRunner.run(["prior", "sample", try writeConfig("data: {theta: t.npy}"), "--count", "5", "--out", path("a.npy")])
        XCTAssertEqual(missing.status, 1, missing.stdout + missing.stderr)
        XCTAssertTrue(missing.stderr.contains("missing key 'prior'"), missing.stderr)
        let bad = try BinaryRunner.run(["prior", "sample", try writeConfig("prior:\n  uniform: {low: [1], high: [0]}"),
                                        "--count", "5", "--out", path("a.npy")])
        XCTAssertEqual(bad.status, 1, bad.stdout + bad.stderr)
        XCTAssertTrue(bad.stderr.contains("run.yaml: prior.uniform"), bad.stderr)
        let zero = try BinaryRunner.run(["prior", "sample", path("run.yaml"), "--count", "0", "--out", path("a.npy")])
        XCTAssertEqual(zero.status, 64, zero.stderr)
    }

    func testLogProbPerRowOrOneObservationForAll() throws {
        let posterior = try SmallPosteriors.directory("npe")
        try NPYFile.write(Matrix<Double>([[0.5, -0.5], [0.5, -0.5], [-0.9, 0.9], [1.5, 0]]), to: path("theta.npy"))
        try NPYFile.write(Matrix<Double>([[0.5, -0.5]]), to: path("x1.npy"))
        try NPYFile.write(Matrix<Double>(rows: 4, cols: 2) { _, j in j == 0 ? 0.5 : -0.5 }, to: path("x4.npy"))
        let broadcast = try BinaryRunner.run(["log-prob", "--posterior", posterior, "--theta", path("theta.npy"), "--obs", path("x1.npy")])
        XCTAssertEqual(broadcast.status, 0, broadcast.stdout + broadcast.stderr)
        let lines = broadcast.stdout.split(separator: "\n").map(String.init)
        guard lines.count == 4 else { return XCTFail("4 lines expected: \(broadcast.stdout)") }
        XCTAssertEqual(lines[3], "-inf", "θ outside the prior's support")
        let values = lines.prefix(3).compactMap(Double.init)
        guard values.count == 3 else { return XCTFail(broadcast.stdout) }
        XCTAssertEqual(values[0], values[1])
        XCTAssertGreaterThan(values[0], values[2] + 2, "the posterior at x ≈ θ is far denser at θ = x than across the box")

        let perRow = try BinaryRunner.run(["log-prob", "--posterior", posterior, "--theta", path("theta.npy"), "--obs", path("x4.npy"),
                                           "--out", path("lp.npy")])
        XCTAssertEqual(perRow.status, 0, perRow.stdout + perRow.stderr)
        let written = try NPYFile.read(path("lp.npy"))
        XCTAssertTrue(written.isOneDimensional)
        let stored = written.matrix(as: Double.self).storage
        guard stored.count == 4 else { return XCTFail("\(stored)") }
        for (a, b) in zip(stored.prefix(3), values) { XCTAssertEqual(a, b, accuracy: 1e-5) }
        XCTAssertEqual(stored[3], -.infinity)

        try NPYFile.write(Matrix<Double>([[0.5, -0.5], [0.1, 0.1]]), to: path("x2.npy"))
        let mismatched = try BinaryRunner.run(["log-prob", "--posterior", posterior, "--theta", path("theta.npy"), "--obs", path("x2.npy")])
        XCTAssertEqual(mismatched.status, 1)
        XCTAssertTrue(mismatched.stderr.contains("holds 2 observations for the 4 θ rows"), mismatched.stderr)
    }

    func testLogProbOfAnMCMCPosteriorSaysItIsUnnormalised() throws {
        let posterior = try SmallPosteriors.directory("nle")
        try NPYFile.write(Matrix<Double>([[0.2, 0.1], [-0.7, 0.8]]), to: path("theta.npy"))
        try NPYFile.write(Matrix<Double>([[0.2, 0.1]]), to: path("x.npy"))
        let result = try BinaryRunner.run(["log-prob", "--posterior", posterior, "--theta", path("theta.npy"), "--obs", path("x.npy"),
                                           "--out", path("lp.npy")])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        XCTAssertTrue(result.stdout.contains("wrote 2 unnormalised log-densities"), result.stdout)
        let values = try NPYFile.read(path("lp.npy")).matrix(as: Double.self).storage
        guard values.count == 2 else { return XCTFail("\(values)") }
        XCTAssertGreaterThan(values[0], values[1])
    }

    func testMapNearTheObservationForDirectAndMCMCPosteriors() throws {
        // x ≈ θ + noise 0.1 under a flat prior: the posterior's mode sits near x.
        let observations = [[0.3, -0.4], [-0.5, 0.2]]
        try NPYFile.write(Matrix<Double>(observations), to: path("obs.npy"))
        for (method, tolerance) in [("npe", 0.2), ("nle", 0.25)] {
            let posterior = try SmallPosteriors.directory(method)
            let result = try BinaryRunner.run(["map", "--posterior", posterior, "--obs", path("obs.npy"), "--out", path("\(method).npy"),
                                               "--seed", "2"])
            XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
            XCTAssertTrue(result.stdout.contains("observation 1: θ = "), result.stdout)
            let estimates = try NPYFile.read(path("\(method).npy")).matrix(as: Double.self)
            guard estimates.rows == 2 && estimates.cols == 2 else { return XCTFail(estimates.shapeDescription) }
            for (i, x) in observations.enumerated() {
                for j in 0..<2 { XCTAssertEqual(estimates[i, j], x[j], accuracy: tolerance, "\(method) observation \(i)") }
            }
            let again = try BinaryRunner.run(["map", "--posterior", posterior, "--obs", path("obs.npy"), "--seed", "2"])
            XCTAssertEqual(again.stdout.split(separator: "\n").prefix(2), result.stdout.split(separator: "\n").prefix(2), "same seed, same MAP")
        }
        let flags = try BinaryRunner.run(["map", "--posterior", try SmallPosteriors.directory("npe"), "--obs", path("obs.npy"), "--chains", "8"])
        XCTAssertEqual(flags.status, 1)
        XCTAssertTrue(flags.stderr.contains("is an NPE posterior"), flags.stderr)
    }
}
