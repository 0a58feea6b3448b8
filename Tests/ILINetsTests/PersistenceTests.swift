import Foundation
import ILINets
import XCTest

final class PersistenceTests: XCTestCase {
    func temporaryDirectory() -> String {
        let path = NSTemporaryDirectory() + "ili-nets-\(UUID().uuidString)"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func testSavedEstimatorsReloadWithIdenticalDensitiesAndSamples() throws {
        var withEmbedding = DensityEstimatorConfiguration.maf(features: 2, context: 8)
        withEmbedding.embedding = .fullyConnected(inputs: 8, widths: [10, 3])
        let configurations: [DensityEstimatorConfiguration] = [
            .maf(features: 3, context: 2), .nsf(features: 3, context: 2), .nsf(features: 1, context: 2),
            .mdn(features: 2, context: 2), .made(features: 2, context: 2), withEmbedding,
        ]
        for config in configurations {
            var rng = RandomSource(seed: 9)
            let model: any ConditionalDensityEstimator<Float> = try makeDensityEstimator(config, rng: &rng)
            let y: Matrix<Float> = rng.normalMatrix(rows: 30, cols: config.featureCount)
            let c: Matrix<Float> = rng.normalMatrix(rows: 30, cols: config.contextCount)
            model.fitStandardization(features: y.map { $0 * 3 - 1 }, context: c.map { $0 * 2 + 5 })
            for p in model.parameters { p.value = p.value.map { $0 + 0.01 } }   // not the initial weights
            let directory = temporaryDirectory()
            try model.save(to: directory)
            let loaded = try loadDensityEstimator(from: directory, as: Float.self)
            XCTAssertEqual(loaded.configuration, model.configuration)
            XCTAssertEqual(try loaded.logProb(of: y, given: c), try model.logProb(of: y, given: c), "\(config.kind)")
            var a = RandomSource(seed: 1), b = RandomSource(seed: 1)
            XCTAssertEqual(loaded.sample(5, context: c, rng: &a), model.sample(5, context: c, rng: &b), "\(config.kind)")
            // The weights file alone carries the configuration.
            try FileManager.default.removeItem(atPath: directory + "/config.json")
            XCTAssertEqual(try loadDensityEstimator(from: directory, as: Float.self).logProb(of: y, given: c),
                           try model.logProb(of: y, given: c))
        }
    }

    func testParameterNamesAreUnique() throws {
        var config = DensityEstimatorConfiguration.nsf(features: 4, context: 16)
        config.embedding = try EmbeddingConfiguration(yaml: """
            input_count: 16
            layers:
              - {type: conv1d, channels: 2, kernel: 3, activation: relu}
              - {type: max_pool, size: 2}
              - {type: dense, width: 4}
            """)
        for kind in DensityEstimatorTests.kinds {
            config.kind = kind
            var rng = RandomSource(seed: 1)
            let model: any ConditionalDensityEstimator<Float> = try makeDensityEstimator(config, rng: &rng)
            let names = model.parameters.map(\.name)
            XCTAssertEqual(Set(names).count, names.count, "\(kind): \(names)")
            XCTAssertFalse(names.contains(""), "\(kind)")
        }
    }

    func testLoadingNamesWhatIsWrong() throws {
        var rng = RandomSource(seed: 2)
        let model: any ConditionalDensityEstimator<Float> = try makeDensityEstimator(.mdn(features: 2, context: 3), rng: &rng)
        var tensors = model.stateTensors()
        tensors["logits.weight"] = nil
        XCTAssertThrowsError(try makeDensityEstimator(configuration: model.configuration, tensors: tensors)) { error in
            XCTAssertTrue("\(error)".contains("logits.weight"), "\(error)")
        }
        tensors = model.stateTensors()
        tensors["means.bias"] = Matrix(rows: 1, cols: 3, repeating: 0)
        XCTAssertThrowsError(try makeDensityEstimator(configuration: model.configuration, tensors: tensors)) { error in
            XCTAssertTrue("\(error)".contains("1x3") && "\(error)".contains("1x20"), "\(error)")
        }
        XCTAssertThrowsError(try loadDensityEstimator(from: temporaryDirectory(), as: Float.self))
    }

    func testConfigurationsFromShortYAML() throws {
        let config = try DensityEstimatorConfiguration(yaml: """
            kind: nsf
            featureCount: 3
            contextCount: 24
            transformCount: 4
            embedding:
              inputCount: 24
              layers:
                - {type: conv1d, channels: 4, kernel: 5, activation: relu}
                - {type: maxPool, size: 2}
                - {type: dense, width: 6}
            """)
        var expected = DensityEstimatorConfiguration.nsf(features: 3, context: 24)
        expected.transformCount = 4
        expected.embedding = EmbeddingConfiguration(inputCount: 24, layers: [
            .conv1d(channels: 4, kernel: 5, activation: .relu), .maxPool(2), .dense(6)])
        expected.embedding!.layers[0].stride = nil
        expected.embedding!.layers[0].padding = nil
        expected.embedding!.inputChannels = nil   // left out: one channel
        XCTAssertEqual(config, expected)
        XCTAssertEqual(try DensityEstimatorConfiguration(yaml: "kind: made\nfeatureCount: 2\ncontextCount: 1").blockCount, 5)
        XCTAssertThrowsError(try DensityEstimatorConfiguration(yaml: "kind: glow\nfeatureCount: 2\ncontextCount: 1"))
        XCTAssertThrowsError(try DensityEstimatorConfiguration(yaml: "kind: maf\nfeatureCount: 2\ncontextCount: 3\nbinCount: 1")) { error in
            XCTAssertTrue("\(error)".contains("binCount"), "\(error)")
        }
        let classifier = try ClassifierConfiguration(yaml: "parameterCount: 2\ndataCount: 7\narchitecture: mlp")
        XCTAssertEqual(classifier.architecture, .mlp)
        XCTAssertEqual(classifier.hiddenFeatures, 50)
        // A full configuration round-trips through JSON.
        let json = try JSONEncoder().encode(config)
        XCTAssertEqual(try JSONDecoder().decode(DensityEstimatorConfiguration.self, from: json), config)
    }

    func testClassifierReloads() throws {
        for architecture in [ClassifierConfiguration.Architecture.residual, .mlp] {
            var rng = RandomSource(seed: 3)
            let classifier = RatioClassifier<Float>(configuration: .init(architecture: architecture, parameterCount: 2, dataCount: 3), rng: &rng)
            let theta: Matrix<Float> = rng.normalMatrix(rows: 20, cols: 2)
            let x: Matrix<Float> = rng.normalMatrix(rows: 20, cols: 3)
            classifier.fitStandardization(parameters: theta, data: x.map { $0 * 4 })
            let directory = temporaryDirectory()
            try classifier.save(to: directory)
            let loaded = try RatioClassifier<Float>.load(from: directory)
            XCTAssertEqual(try loaded.logits(parameters: theta, data: x), try classifier.logits(parameters: theta, data: x))
        }
    }
}
