import Foundation
import ILITensor
import XCTest

/// Point-cloud data end to end through the binary: `ili simulate` writes halo clouds, `ili
/// train` fits an NPE whose x goes through a `deep_sets` embedding, `ili sample` reads the
/// saved posterior back, and mistakes in the layer are named by their full key path.
final class DeepSetsCommandTests: ScratchDirectoryTestCase {
    func config(embedding: String, extra: String = "") -> String {
        """
        prior:
          uniform: {low: [0.5, 0.02], high: [1.5, 0.2]}
        data: {theta: data/theta.npy, x: data/x.npy}
        inference:
          method: npe
          estimators:
            - model: maf
              hidden_features: 10
              num_transforms: 2
        \(extra.isEmpty ? "" : "      " + extra + "\n")      embedding:
                layers:
                  - \(embedding)
        train: {max_epochs: 3, batch_size: 50}
        seed: 1
        out: posterior
        """
    }

    func testHaloCloudsTrainAPosteriorThroughADeepSetsEmbedding() throws {
        let simulate = try BinaryRunner.run(["simulate", "--simulator", "halo_cloud", "--count", "300", "--out", path("data"), "--seed", "2"])
        XCTAssertEqual(simulate.status, 0, simulate.stderr)
        let x = try NPYFile.read(path("data/x.npy")).matrix(as: Float.self)
        XCTAssertEqual([x.rows, x.cols], [300, 320])
        // Every row flags its halos (1) and empty slots (0) and nothing else.
        XCTAssertTrue((0..<x.rows).allSatisfy { i in (0..<64).allSatisfy { [0, 1].contains(x[i, 5 * $0]) } })

        try config(embedding: "{type: deep_sets, max_points: 64, point_features: 4, pool: sum, phi: [8], rho: [4]}")
            .write(toFile: path("run.yaml"), atomically: true, encoding: .utf8)
        let train = try BinaryRunner.run(["train", path("run.yaml"), "--quiet"])
        XCTAssertEqual(train.status, 0, train.stdout + train.stderr)
        // The saved posterior (its set z-scoring included) reloads and samples at one cloud.
        try NPYFile.write(x.rows(at: [0]), to: path("obs.npy"))
        let sample = try BinaryRunner.run(["sample", "--posterior", path("posterior"), "--obs", path("obs.npy"),
                                          "--num-samples", "20", "--out", path("samples.npy"), "--quiet"])
        XCTAssertEqual(sample.status, 0, sample.stdout + sample.stderr)
        XCTAssertEqual(try NPYFile.read(path("samples.npy")).shape, [20, 2])
    }

    func testMistakesNameTheKeyPath() throws {
        XCTAssertEqual(try BinaryRunner.run(["simulate", "--simulator", "halo_cloud", "--count", "20", "--out", path("data")]).status, 0)
        let prefix = "run.yaml: inference.estimators[0].embedding.layers[0]"
        let cases: [(embedding: String, extra: String, expected: String)] = [
            ("{type: deep_sets, max_points: 64, point_features: 4, pool: max, phi: [8]}", "",
             "\(prefix).pool: not a pooling (one of: sum, mean)"),
            ("{type: deep_sets, max_points: 60, point_features: 4, pool: sum, phi: [8]}", "",
             "\(prefix).max_points: 60 points × (4 features + 1 presence flag) = 300 values, but x has 320"),
            ("{type: deep_sets, max_points: 64, pointFeatures: 4, pool: sum, phi: [8]}", "",
             "\(prefix).pointFeatures: 'pointFeatures' is written point_features"),
            ("{type: deep_sets, max_points: 64, point_features: 4, pool: sum, phi: [8, -1]}", "",
             "\(prefix).phi[1]: must be at least 1, got -1"),
            ("{type: deep_sets, max_points: 64, point_features: 4, pool: sum, phi: [8]}", "structured_x: true",
             "structured_x does not apply to a deep_sets embedding"),
        ]
        for (embedding, extra, expected) in cases {
            try config(embedding: embedding, extra: extra).write(toFile: path("run.yaml"), atomically: true, encoding: .utf8)
            let result = try BinaryRunner.run(["train", path("run.yaml"), "--quiet"])
            XCTAssertEqual(result.status, 1, "accepted:\n\(embedding)\n\(result.stdout)")
            XCTAssertTrue(result.stderr.contains(expected), "expected '\(expected)' in: \(result.stderr)")
        }
    }
}
