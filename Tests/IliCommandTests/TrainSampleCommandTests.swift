import Foundation
import ILITensor
import XCTest

/// `ili train` and `ili sample` as a user runs them, on a small linear-Gaussian problem.
final class TrainSampleCommandTests: ScratchDirectoryTestCase {
    override func setUpWithError() throws {
        try super.setUpWithError()
        var rng = RandomSource(seed: 1)
        let n = 1000
        var theta = Matrix<Double>(rows: n, cols: 2) { _, _ in rng.uniform(in: -1.0, 1.0) }
        let x = Matrix<Float>(rows: n, cols: 3) { i, j in Float(theta[i, j % 2] + 0.1 * rng.normal()) }
        theta[5, 0] = .nan   // one broken simulation, to be dropped and counted
        try NPYFile.write(theta, to: path("theta.npy"))
        try NPYFile.write(x, to: path("x.npy"))
        try NPYFile.write(Matrix<Float>([[0.2, -0.3, 0.2]]), to: path("obs.npy"), oneDimensional: true)
        try NPYFile.write(Matrix<Double>([[0.2, -0.3, 0.2], [0.5, 0.5, 0.5]]), to: path("obs2.npy"))
    }

    func writeConfig(_ text: String, name: String = "run.yaml") throws -> String {
        try text.write(toFile: path(name), atomically: true, encoding: .utf8)
        return path(name)
    }

    let goodConfig = """
        prior:
          uniform: {low: [-1, -1], high: [1, 1]}
        data: {theta: theta.npy, x: x.npy}
        inference:
          method: npe
          estimators:
            - {model: maf, hidden_features: 20, num_transforms: 2}
            - {model: mdn, num_components: 3, repeats: 2}
        train: {batch_size: 100, max_epochs: 3}
        seed: 7
        out: runs/small
        """

    func testTrainThenSampleOneAndSeveralObservations() throws {
        let train = try BinaryRunner.run(["train", try writeConfig(goodConfig), "--quiet"])
        XCTAssertEqual(train.status, 0, train.stdout + train.stderr)
        XCTAssertTrue(train.stdout.contains("trained 3 NPE member(s) on 999 simulations (1 dropped"), train.stdout)
        XCTAssertTrue(train.stderr.isEmpty, "quiet mode prints no progress: \(train.stderr)")
        let posterior = path("runs/small")
        for file in ["posterior.json", "training.json", "members/0.safetensors", "members/2.safetensors"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: posterior + "/" + file), file)
        }

        let one = try BinaryRunner.run(["sample", "--posterior", posterior, "--obs", path("obs.npy"),
                                        "--num-samples", "300", "--out", path("s.npy"), "--seed", "4"])
        XCTAssertEqual(one.status, 0, one.stdout + one.stderr)
        let samples = try NPYFile.read(path("s.npy"))
        XCTAssertEqual(samples.shape, [300, 2])
        XCTAssertEqual(samples.descriptor, "<f4")
        let m = samples.matrix(as: Double.self)
        XCTAssertTrue((0..<m.rows).allSatisfy { abs(m[$0, 0]) <= 1 && abs(m[$0, 1]) <= 1 }, "samples stay in the prior's support")

        let again = try BinaryRunner.run(["sample", "--posterior", posterior, "--obs", path("obs.npy"),
                                          "--num-samples", "300", "--out", path("s_again.npy"), "--seed", "4"])
        XCTAssertEqual(again.status, 0)
        XCTAssertEqual(try NPYFile.read(path("s_again.npy")).values, samples.values, "same seed, same samples")

        let several = try BinaryRunner.run(["sample", "--posterior", posterior, "--obs", path("obs2.npy"),
                                            "--num-samples", "100", "--out", path("s2.npy")])
        XCTAssertEqual(several.status, 0, several.stderr)
        XCTAssertEqual(try NPYFile.read(path("s2.npy")).shape, [200, 2])
    }

    /// A search from the command line: every trial listed with its fate, the kept ones in
    /// the posterior directory and in search.json, and the posterior samples like any other.
    func testTrainSearchesAndKeepsTheBest() throws {
        let config = try writeConfig("""
            prior:
              uniform: {low: [-1, -1], high: [1, 1]}
            data: {theta: theta.npy, x: x.npy}
            inference:
              method: npe
              search:
                strategy: grid
                keep: 2
                rung_epochs: 2
                space: {model: [maf, mdn], hidden_features: [10, 20], num_transforms: 2, learning_rate: [1e-3]}
            train: {batch_size: 100, max_epochs: 6}
            seed: 7
            out: runs/search
            """, name: "search.yaml")
        let train = try BinaryRunner.run(["train", config, "--quiet"])
        XCTAssertEqual(train.status, 0, train.stdout + train.stderr)
        XCTAssertTrue(train.stdout.contains("trained 2 NPE member(s)"), train.stdout)
        XCTAssertTrue(train.stdout.contains("search: 4 trials, 2 kept"), train.stdout)
        let trialLines = train.stdout.split(separator: "\n").filter { $0.hasPrefix("  trial ") }
        XCTAssertEqual(trialLines.count, 4, train.stdout)
        XCTAssertEqual(trialLines.filter { $0.contains("stopped after rung 0") }.count, 2, train.stdout)
        XCTAssertTrue(trialLines[0].contains("member 0") && trialLines[1].contains("member 1"), "best first: \(train.stdout)")
        let records = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("runs/search/search.json")))) as? [[String: Any]]
        XCTAssertEqual(records?.count, 4)
        XCTAssertEqual(records?.compactMap { $0["member"] as? Int }.sorted(), [0, 1])
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("runs/search/members/1.safetensors")))
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("runs/search/members/2.safetensors")))
        let sample = try BinaryRunner.run(["sample", "--posterior", path("runs/search"), "--obs", path("obs.npy"),
                                           "--num-samples", "100", "--out", path("search.npy")])
        XCTAssertEqual(sample.status, 0, sample.stderr)
        XCTAssertEqual(try NPYFile.read(path("search.npy")).shape, [100, 2])
    }

    func testOneProgressLinePerEpochAndMemberUnlessQuiet() throws {
        let config = goodConfig.replacingOccurrences(of: "max_epochs: 3", with: "max_epochs: 2")
        let train = try BinaryRunner.run(["train", try writeConfig(config)])
        XCTAssertEqual(train.status, 0, train.stderr)
        let epochLines = train.stderr.split(separator: "\n").filter { $0.contains("] epoch ") }
        XCTAssertEqual(epochLines.count, 2 * 3, train.stderr)
        XCTAssertTrue(epochLines.allSatisfy { $0.contains("train") && $0.contains("val") && $0.contains("best") && $0.contains("since") })
        XCTAssertTrue(train.stdout.contains("posterior written to"), train.stdout)
        let curves = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("runs/small/training.json")))) as! [String: Any]
        let summary = ((curves["members"] as! [[String: Any]])[0]["summary"] as! [String: Any])
        XCTAssertEqual((summary["validationCurve"] as? [Double])?.count, 2, "per-epoch curves are saved with the posterior")
    }

    func testConfigurationErrorsNameTheKeyOrFile() throws {
        let cases: [(String, String)] = [
            (goodConfig.replacingOccurrences(of: "seed: 7", with: "seed: 7\nepochs: 3"), "epochs: unknown key"),
            (goodConfig.replacingOccurrences(of: "x: x.npy", with: "x: missing.npy"), "data.x: no file 'missing.npy'"),
            (goodConfig.replacingOccurrences(of: "hidden_features: 20", with: "hidden_features: many"), "inference.estimators[0].hidden_features: expected a whole number"),
            (goodConfig.replacingOccurrences(of: "model: mdn", with: "model: gan"), "inference.estimators[1].model: 'gan' is not one of"),
            (goodConfig.replacingOccurrences(of: "low: [-1, -1]", with: "low: [-1, 2]"), "prior.uniform: low[1] = 2.0 is not below high[1] = 1.0"),
            (goodConfig.replacingOccurrences(of: "batch_size: 100", with: "batch_size: 0"), "train.batch_size: must be at least 1"),
            (goodConfig.replacingOccurrences(of: "method: npe", with: "method: abc"), "inference.method: 'abc' is not one of"),
            (goodConfig.replacingOccurrences(of: "method: npe", with: "method: npe\n  loss: bold"), "inference.loss: 'bold' is not one of: maximum_likelihood, balanced"),
            (goodConfig.replacingOccurrences(of: "method: npe", with: "method: npe\n  balance_strength: 10"),
             "inference.balance_strength: 'balance_strength' belongs to the balanced loss; add `loss: balanced`"),
            (goodConfig.replacingOccurrences(of: "method: npe", with: "method: npe\n  loss: maximum_likelihood\n  balance_strength: 10"),
             "inference.balance_strength: 'balance_strength' belongs to the balanced loss; this run's loss is maximum_likelihood"),
            (goodConfig.replacingOccurrences(of: "method: npe", with: "method: npe\n  loss: balanced\n  balance_strength: -1"),
             "inference.balance_strength: must be positive, got -1.0"),
            (goodConfig.replacingOccurrences(of: "method: npe", with: "method: nle\n  loss: balanced"),
             "inference.loss: only NPE takes 'loss'; this run's method is nle"),
            (goodConfig.replacingOccurrences(of: "method: npe", with: "method: nre\n  loss: balanced"), "(NRE's balanced counterpart is `variant: bnre`)"),
            (goodConfig.replacingOccurrences(of: "method: npe", with: "method: nle\n  balance_strength: 10"),
             "inference.balance_strength: NRE (variant bnre) and NPE (loss balanced) take 'balance_strength'; this run's method is nle"),
        ]
        for (k, (config, expected)) in cases.enumerated() {
            let file = try writeConfig(config, name: "bad\(k).yaml")
            let result = try BinaryRunner.run(["train", file, "--quiet"])
            XCTAssertNotEqual(result.status, 0, "accepted: \(expected)")
            XCTAssertTrue(result.stderr.contains(expected) && result.stderr.contains("bad\(k).yaml"),
                          "expected '\(expected)' in: \(result.stderr)")
        }
    }

    /// `loss: balanced` trains balanced NPE members (BNPE) and says so; the directory they
    /// write is an ordinary NPE posterior, sampled like any other.
    func testBalancedLossTrainsBNPEMembers() throws {
        let config = goodConfig.replacingOccurrences(of: "method: npe", with: "method: npe\n  loss: balanced\n  balance_strength: 50")
        let train = try BinaryRunner.run(["train", try writeConfig(config), "--quiet"])
        XCTAssertEqual(train.status, 0, train.stdout + train.stderr)
        XCTAssertTrue(train.stdout.contains("trained 3 BNPE member(s) on 999 simulations"), train.stdout)
        XCTAssertTrue(train.stdout.contains("best validation log-prob"), train.stdout)
        let sample = try BinaryRunner.run(["sample", "--posterior", path("runs/small"), "--obs", path("obs.npy"),
                                           "--num-samples", "200", "--out", path("b.npy"), "--seed", "4"])
        XCTAssertEqual(sample.status, 0, sample.stdout + sample.stderr)
        XCTAssertEqual(try NPYFile.read(path("b.npy")).shape, [200, 2])
    }

    func testSampleRejectsAWrongObservationWidth() throws {
        XCTAssertEqual(try BinaryRunner.run(["train", try writeConfig(goodConfig), "--quiet"]).status, 0)
        try NPYFile.write(Matrix<Float>([[1, 2]]), to: path("narrow.npy"), oneDimensional: true)
        let result = try BinaryRunner.run(["sample", "--posterior", path("runs/small"), "--obs", path("narrow.npy"),
                                           "--num-samples", "10", "--out", path("o.npy")])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("narrow.npy") && result.stderr.contains("width 3"), result.stderr)
    }

    /// `ili plot training` draws every member's curves from a trained directory, circling
    /// the epoch each kept; a directory without training.json is named in the error.
    func testPlotTrainingDrawsEveryMember() throws {
        XCTAssertEqual(try BinaryRunner.run(["train", try writeConfig(goodConfig), "--quiet"]).status, 0)
        let result = try BinaryRunner.run(["plot", "training", "--training", path("runs/small"), "--out", path("curves.svg")])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        XCTAssertTrue(result.stdout.contains("(3 curves)"), result.stdout)
        let svg = try String(contentsOfFile: path("curves.svg"), encoding: .utf8)
        for (name, count) in [("validation-curve", 3), ("training-curve", 3), ("best-epoch", 3)] {
            XCTAssertEqual(svg.components(separatedBy: "class=\"\(name)\"").count - 1, count, name)
        }
        XCTAssertTrue(svg.contains("member 2 validation"), "one legend entry per member")

        let missing = try BinaryRunner.run(["plot", "training", "--training", path("nowhere"), "--out", path("x.svg")])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("nowhere"), missing.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("x.svg")))
    }
}
