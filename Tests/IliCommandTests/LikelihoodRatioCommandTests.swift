import Foundation
import ILITensor
import XCTest

/// `ili train` and `ili sample` for NLE and NRE, whose posteriors are sampled by MCMC.
final class LikelihoodRatioCommandTests: ScratchDirectoryTestCase {
    override func setUpWithError() throws {
        try super.setUpWithError()
        var rng = RandomSource(seed: 3)
        let n = 1000
        let theta = Matrix<Double>(rows: n, cols: 2) { _, _ in rng.uniform(in: -1.0, 1.0) }
        let x = Matrix<Float>(rows: n, cols: 2) { i, j in Float(theta[i, j] + 0.1 * rng.normal()) }
        try NPYFile.write(theta, to: path("theta.npy"))
        try NPYFile.write(x, to: path("x.npy"))
        try NPYFile.write(Matrix<Double>([[0.2, -0.3], [0.6, 0.1]]), to: path("obs2.npy"))
    }

    func config(method: String, extra: String = "", estimator: String) throws -> String {
        let text = """
            prior:
              uniform: {low: [-1, -1], high: [1, 1]}
            data: {theta: theta.npy, x: x.npy}
            inference:
              method: \(method)
            \(extra)
              estimators:
                - \(estimator)
              sampler: {method: slice, chains: 8, warmup: 50}
            train: {batch_size: 100, max_epochs: 40}
            seed: 2
            out: runs/\(method)
            """
        try text.write(toFile: path("\(method).yaml"), atomically: true, encoding: .utf8)
        return path("\(method).yaml")
    }

    /// x ≈ θ + noise 0.1: each observation's samples sit near it, inside the box, and every
    /// sampler flag reaches the sampler (the diagnostics file records what ran).
    func testTrainAndSampleNLEAndNREWithEachSampler() throws {
        for (method, extra, estimator) in [("nle", "", "{model: maf, hidden_features: 20, num_transforms: 2}"),
                                           ("nre", "  variant: c", "{model: resnet, hidden_features: 32}")] {
            let train = try BinaryRunner.run(["train", try config(method: method, extra: extra, estimator: estimator), "--quiet"])
            XCTAssertEqual(train.status, 0, train.stdout + train.stderr)
            XCTAssertTrue(train.stdout.contains("trained 1 \(method == "nle" ? "NLE" : "NRE-C") member(s)"), train.stdout)
            let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("runs/\(method)/posterior.json")))) as! [String: Any]
            XCTAssertEqual(manifest["method"] as? String, method.uppercased())
            XCTAssertEqual((manifest["sampler"] as? [String: Any])?["chains"] as? Int, 8)

            for (sampler, flags) in [("slice", [String]()), ("ensemble", ["--sampler", "ensemble", "--chains", "10", "--warmup", "100", "--thin", "2"]),
                                     ("sir", ["--sampler", "sir", "--oversampling", "8"])] {
                let out = path("\(method)-\(sampler).npy")
                let run = try BinaryRunner.run(["sample", "--posterior", path("runs/\(method)"), "--obs", path("obs2.npy"),
                                                "--num-samples", "400", "--out", out, "--seed", "5"] + flags)
                XCTAssertEqual(run.status, 0, run.stdout + run.stderr)
                let samples = try NPYFile.read(out).matrix(as: Double.self)
                XCTAssertEqual(samples.rows, 800)
                // Briefly trained on 1,000 simulations, so only roughly where the observations are
                // (the accuracy tests hold the estimators to the exact posteriors), but each
                // observation's block must follow its own observation.
                var means = [[Double]]()
                for (k, obs) in [[0.2, -0.3], [0.6, 0.1]].enumerated() {
                    means.append((0..<2).map { j in
                        let column = (k * 400..<(k + 1) * 400).map { samples[$0, j] }
                        XCTAssertTrue(column.allSatisfy { abs($0) <= 1 }, "\(method)/\(sampler): inside the prior's box")
                        let mean = column.reduce(0, +) / 400
                        XCTAssertEqual(mean, obs[j], accuracy: 0.2, "\(method)/\(sampler): observation \(k), θ\(j)")
                        return mean
                    })
                }
                XCTAssertGreaterThan(means[1][0] - means[0][0], 0.2, "\(method)/\(sampler): θ0 follows x0 (exact difference 0.4)")
                XCTAssertGreaterThan(means[1][1] - means[0][1], 0.2, "\(method)/\(sampler): θ1 follows x1 (exact difference 0.4)")
                let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("\(method)-\(sampler).diagnostics.json")))) as! [String: Any]
                let settings = report["sampler"] as! [String: Any]
                XCTAssertEqual(settings["kind"] as? String, sampler)
                let observations = report["observations"] as! [Any]
                XCTAssertEqual(observations.count, 2)
                if sampler == "ensemble" {
                    XCTAssertEqual(settings["chains"] as? Int, 10)
                    XCTAssertEqual(settings["thin"] as? Int, 2)
                }
                if sampler == "sir" {
                    XCTAssertTrue(observations.allSatisfy { $0 is NSNull }, "SIR has no chains to diagnose")
                } else {
                    XCTAssertTrue(run.stdout.contains("max R-hat"), run.stdout)
                }
            }
        }
    }

    func testConfigurationAndFlagErrorsNameTheKey() throws {
        let cases: [(String, String, String)] = [
            ("npe", "  variant: b", "inference.variant: only NRE takes 'variant'"),
            ("nre", "  variant: d", "inference.variant: 'd' is not one of"),
            ("nre", "  variant: a\n  num_atoms: 5", "inference.num_atoms: 'num_atoms' belongs to NRE variant b"),
            ("nre", "  num_atoms: 1", "inference.num_atoms: must be at least 2"),
        ]
        for (k, (method, extra, expected)) in cases.enumerated() {
            let estimator = method == "nre" ? "{model: mlp}" : "{model: maf}"
            var file = try config(method: method, extra: extra, estimator: estimator)
            let text = try String(contentsOfFile: file, encoding: .utf8)
            if method == "npe" {
                try text.replacingOccurrences(of: "  sampler: {method: slice, chains: 8, warmup: 50}\n", with: "")
                    .write(toFile: file, atomically: true, encoding: .utf8)
            }
            let renamed = path("bad\(k).yaml")
            try FileManager.default.moveItem(atPath: file, toPath: renamed)
            file = renamed
            let result = try BinaryRunner.run(["train", file, "--quiet"])
            XCTAssertNotEqual(result.status, 0, "accepted: \(expected)")
            XCTAssertTrue(result.stderr.contains(expected) && result.stderr.contains("bad\(k).yaml"), "expected '\(expected)' in: \(result.stderr)")
        }
        let ensembleB = try config(method: "nre", extra: "  variant: b", estimator: "{model: mlp, repeats: 2}")
        let refused = try BinaryRunner.run(["train", ensembleB, "--quiet"])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("inference.estimators: 2 members with NRE-B"), refused.stderr)
        let nleEmbedding = try config(method: "nle", estimator: "{model: maf, structured_x: true}")
        let unknown = try BinaryRunner.run(["train", nleEmbedding, "--quiet"])
        XCTAssertNotEqual(unknown.status, 0)
        XCTAssertTrue(unknown.stderr.contains("structured_x: unknown estimator key"), unknown.stderr)
        let samplerCases: [(String, String)] = [
            ("{method: ensemble, chains: 3}", "inference.sampler.chains: the ensemble sampler needs at least 2·d = 4 chains"),
            ("{method: gibbs}", "inference.sampler.method: 'gibbs' is not one of"),
            ("{chains: 1}", "inference.sampler.chains: must be at least 2"),
            ("{steps: 10}", "inference.sampler.steps: unknown key"),
        ]
        for (k, (sampler, expected)) in samplerCases.enumerated() {
            let file = try config(method: "nle", estimator: "{model: maf}")
            let text = try String(contentsOfFile: file, encoding: .utf8)
                .replacingOccurrences(of: "sampler: {method: slice, chains: 8, warmup: 50}", with: "sampler: \(sampler)")
            try text.write(toFile: path("sampler\(k).yaml"), atomically: true, encoding: .utf8)
            let result = try BinaryRunner.run(["train", path("sampler\(k).yaml"), "--quiet"])
            XCTAssertNotEqual(result.status, 0, "accepted: \(expected)")
            XCTAssertTrue(result.stderr.contains(expected), "expected '\(expected)' in: \(result.stderr)")
        }
    }
}
