import Foundation
import ILITensor
import XCTest

/// Embedding networks in a run configuration: snake_case keys and types like every other
/// key, and mistakes named by key path with the valid choices.
final class EmbeddingConfigCommandTests: ScratchDirectoryTestCase {
    override func setUpWithError() throws {
        try super.setUpWithError()
        var rng = RandomSource(seed: 2)
        let theta = Matrix<Double>(rows: 300, cols: 2) { _, _ in rng.uniform(in: -1.0, 1.0) }
        let x = Matrix<Double>(rows: 300, cols: 8) { i, j in theta[i, j % 2] + 0.1 * rng.normal() }
        try NPYFile.write(theta, to: path("theta.npy"))
        try NPYFile.write(x, to: path("x.npy"))
    }

    func train(embedding: String) throws -> BinaryRunner.Result {
        try """
            prior:
              uniform: {low: [-1, -1], high: [1, 1]}
            data: {theta: theta.npy, x: x.npy}
            inference:
              method: npe
              estimators:
                - model: mdn
                  num_components: 2
                  embedding:
            \(embedding.split(separator: "\n").map { "          " + $0 }.joined(separator: "\n"))
            train: {max_epochs: 2, batch_size: 100}
            seed: 1
            out: posterior
            """.write(toFile: path("run.yaml"), atomically: true, encoding: .utf8)
        return try BinaryRunner.run(["train", path("run.yaml"), "--quiet"])
    }

    func testASnakeCaseEmbeddingTrains() throws {
        let result = try train(embedding: """
            input_channels: 2
            layers:
              - {type: conv1d, channels: 3, kernel: 2, activation: relu}
              - {type: max_pool, size: 1}
              - {type: avg_pool, size: 1}
              - {type: flatten}
              - {type: dense, width: 4}
            """)
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
    }

    func testMistakesNameTheKeyPathAndTheChoices() throws {
        let prefix = "run.yaml: inference.estimators[0].embedding"
        let cases: [(String, String)] = [
            ("inputChannels: 2\nlayers: [{type: flatten}]",
             "\(prefix).inputChannels: 'inputChannels' is written input_channels"),
            ("layers: [{type: dense, width: 4}, {type: lstm, width: 4}]",
             "\(prefix).layers[1].type: 'lstm' is not a layer type; valid types: dense, conv1d, max_pool, avg_pool, flatten"),
            ("layers: [{type: maxPool, size: 2}]",
             "\(prefix).layers[0].type: 'maxPool' is written max_pool"),
            ("layers: [{type: dense, width: 4, kernel: 3}]",
             "\(prefix).layers[0].kernel: not a key of a dense layer (it takes: type, width, activation)"),
            ("layers: [{type: conv1d, channels: 2}]",
             "\(prefix).layers[0]: a conv1d layer needs 'kernel'"),
            ("layers: [{type: dense, width: 4, activation: swish}]",
             "\(prefix).layers[0].activation: not an activation (one of: tanh, relu"),
            ("input_count: 5\nlayers: [{type: flatten}]",
             "\(prefix).input_count: 5 does not match the 8 values of x"),
        ]
        for (embedding, expected) in cases {
            let result = try train(embedding: embedding)
            XCTAssertEqual(result.status, 1, "accepted:\n\(embedding)\n\(result.stdout)")
            XCTAssertTrue(result.stderr.contains(expected), "expected '\(expected)' in: \(result.stderr)")
            XCTAssertFalse(result.stderr.contains("DecodingError"), result.stderr)
        }
    }
}
