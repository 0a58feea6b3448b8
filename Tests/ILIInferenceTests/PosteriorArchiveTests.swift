import Foundation
import ILIInference
import XCTest

final class PosteriorArchiveTests: XCTestCase {
    var directory: String!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("ili-archive-\(UUID().uuidString)").path
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }

    func testSaveAndLoadGiveTheSamePosterior() throws {
        var rng = RandomSource(seed: 1)
        let n = 600
        let theta = Matrix<Double>(rows: n, cols: 2) { _, _ in rng.uniform(in: -1.0, 1.0) }
        let x = Matrix<Double>(rows: n, cols: 3) { i, j in theta[i, j % 2] + 0.1 * rng.normal() }
        var settings = TrainingSettings()
        settings.maxEpochs = 3
        let configs = [DensityEstimatorConfiguration.maf(features: 2, context: 3), .nsf(features: 2, context: 3), .mdn(features: 2, context: 3)]
        let result = try NeuralPosteriorEstimation.train(configurations: configs, data: try SimulationDataset(theta: theta, x: x),
                                                         settings: settings, seed: 2)
        let spec = PriorSpecification.uniform(low: [-1, -1], high: [1, 1])
        try PosteriorArchive.write(npe: result, prior: spec, experiment: "archive-test", to: directory)
        let original = DirectPosterior(prior: try spec.makePrior(), ensemble: result.ensemble)
        let loaded = try loadPosterior(from: directory)

        let obs = Matrix<Double>([[0.1, -0.2, 0.3], [0.5, 0.5, 0.0]])
        var r1 = RandomSource(seed: 9), r2 = RandomSource(seed: 9)
        XCTAssertEqual(try original.sample(50, observations: obs, rng: &r1), try loaded.sample(50, observations: obs, rng: &r2))
        let probe = Matrix<Double>([[0.2, 0.3], [-0.5, 0.1]])
        let lp1 = try original.logProb(probe, observations: obs), lp2 = try loaded.logProb(probe, observations: obs)
        for i in 0..<2 { XCTAssertEqual(lp1[i], lp2[i], accuracy: 1e-9) }

        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/posterior.json"))) as! [String: Any]
        XCTAssertEqual(manifest["format"] as? String, "ili-posterior")
        XCTAssertEqual(manifest["method"] as? String, "NPE")
        XCTAssertEqual((manifest["members"] as? [Any])?.count, 3)
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory + "/training.json"))
    }

    func testCorruptedWeightsAreRefused() throws {
        var rng = RandomSource(seed: 1)
        let theta = Matrix<Double>(rows: 100, cols: 1) { _, _ in rng.uniform(in: 0.0, 1.0) }
        var settings = TrainingSettings()
        settings.maxEpochs = 1
        let result = try NeuralPosteriorEstimation.train(configurations: [.maf(features: 1, context: 1)],
                                                         data: try SimulationDataset(theta: theta, x: theta), settings: settings,
                                                         seed: 1)
        try PosteriorArchive.write(npe: result, prior: .uniform(low: [0], high: [1]), experiment: "t", to: directory)
        let weights = directory + "/members/0.safetensors"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: weights))
        bytes[bytes.count - 1] ^= 0xff
        try bytes.write(to: URL(fileURLWithPath: weights))
        XCTAssertThrowsError(try loadPosterior(from: directory)) { error in
            XCTAssertTrue("\(error)".contains("SHA-256") && "\(error)".contains("0.safetensors"), "\(error)")
        }
        XCTAssertThrowsError(try loadPosterior(from: directory + "/nowhere")) { error in
            XCTAssertTrue("\(error)".contains("not a posterior directory"), "\(error)")
        }
    }
}
