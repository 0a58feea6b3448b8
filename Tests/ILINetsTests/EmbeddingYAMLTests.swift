import ILINets
import XCTest

/// `EmbeddingConfiguration(yaml:)` reads snake_case only and says what to write instead.
final class EmbeddingYAMLTests: XCTestCase {
    func testSnakeCaseReadsIntoTheConfiguration() throws {
        let config = try EmbeddingConfiguration(yaml: """
            input_count: 12
            input_channels: 3
            layers:
              - {type: conv1d, channels: 2, kernel: 2, stride: 1, padding: 1, activation: tanh}
              - {type: avg_pool, size: 2}
              - {type: flatten}
              - {type: dense, width: 3}
            """)
        XCTAssertEqual(config, EmbeddingConfiguration(inputCount: 12, inputChannels: 3, layers: [
            .conv1d(channels: 2, kernel: 2, stride: 1, padding: 1, activation: .tanh), .avgPool(2), .flatten, .dense(3)]))
    }

    func testCamelCaseAndUnknownTypesAreRefusedWithTheRightSpelling() {
        let cases: [(String, String)] = [
            ("inputCount: 4\nlayers: [{type: flatten}]", "inputCount: 'inputCount' is written input_count"),
            ("input_count: 4\nlayers: [{type: avgPool, size: 2}]", "layers[0].type: 'avgPool' is written avg_pool"),
            ("input_count: 4\nlayers: [{type: gru}]", "layers[0].type: 'gru' is not a layer type; valid types: dense, conv1d, max_pool, avg_pool, flatten"),
            ("layers: [{type: flatten}]", "missing key 'input_count'"),
            ("input_count: 4\nlayers: [{type: max_pool, size: 8}]", "layers: embedding layer 0: pooling window 8 longer than the series (4)"),
        ]
        for (yaml, expected) in cases {
            XCTAssertThrowsError(try EmbeddingConfiguration(yaml: yaml)) { error in
                XCTAssertTrue("\(error)".contains(expected), "expected '\(expected)' in: \(error)")
            }
        }
    }
}
