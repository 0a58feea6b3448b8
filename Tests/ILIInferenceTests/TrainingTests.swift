import Foundation
import ILIInference
import XCTest

final class TrainingTests: XCTestCase {
    func testDatasetDropsNonFiniteRowsAndRejectsMismatchesAndEmptiness() throws {
        let theta = Matrix<Double>([[1, 2], [.nan, 0], [3, 4], [5, 6]])
        let x = Matrix<Double>([[1], [2], [.infinity], [3]])
        let data = try SimulationDataset(theta: theta, x: x)
        XCTAssertEqual(data.count, 2)
        XCTAssertEqual(data.droppedRows, 2)
        XCTAssertEqual(data.theta, Matrix([[1, 2], [5, 6]]))
        XCTAssertEqual(data.x, Matrix([[1], [3]]))
        XCTAssertThrowsError(try SimulationDataset(theta: theta, x: Matrix([[1]]), source: "t.npy")) { e in
            XCTAssertTrue("\(e)".contains("θ has 4 rows but x has 1"), "\(e)")
        }
        XCTAssertThrowsError(try SimulationDataset(theta: Matrix([[Double.nan]]), x: Matrix([[1]]))) { e in
            XCTAssertEqual((e as? PosteriorError)?.code, .emptyDataset)
        }
    }

    func testSplitIsSeededDisjointAndComplete() throws {
        let data = try SimulationDataset(theta: Matrix(rows: 100, cols: 1) { i, _ in Double(i) }, x: Matrix(rows: 100, cols: 1, repeating: 0))
        var a = RandomSource(seed: 5), b = RandomSource(seed: 5)
        let s1 = data.split(validationFraction: 0.1, rng: &a), s2 = data.split(validationFraction: 0.1, rng: &b)
        XCTAssertEqual(s1.validation, s2.validation)
        XCTAssertEqual(s1.validation.count, 10)
        XCTAssertEqual(Set(s1.training).union(s1.validation), Set(0..<100))
        XCTAssertTrue(Set(s1.training).isDisjoint(with: s1.validation))
    }

    /// Maximum likelihood of a Gaussian's mean and log-std: the loop must find the sample
    /// estimates, stop by itself, and restore its best epoch's state.
    func testTrainerFindsTheMaximumLikelihoodGaussian() {
        var rng = RandomSource(seed: 9)
        let n = 2000
        let data: Matrix<Float> = Matrix(rows: n, cols: 1) { _, _ in Float(1.5 + 0.7 * rng.normal()) }
        let mean = Parameter<Float>(Matrix(scalar: 0)), logStd = Parameter<Float>(Matrix(scalar: 0))
        var settings = TrainingSettings()
        settings.learningRate = 0.05
        settings.batchSize = 100
        settings.stopAfterEpochs = 5
        settings.maxEpochs = 300
        let trainer = Trainer(settings: settings)
        var reports: [EpochReport] = []
        let summary = trainer.train(parameters: [mean, logStd], training: Array(0..<1800), validation: Array(1800..<2000),
                                    rng: &rng, score: { tape, rows in
            let x = tape.constant(data.rows(at: rows))
            let s = tape.read(logStd)
            let z = (x - tape.read(mean)) / s.exp()
            return (z.square() * -0.5 - s).mean() - 0.9189385
        }, progress: { reports.append($0) })
        let values = (0..<n).map { Double(data.storage[$0]) }
        let sampleMean = values.reduce(0, +) / Double(n)
        XCTAssertEqual(Double(mean.value.scalar), sampleMean, accuracy: 0.05)
        XCTAssertEqual(Foundation.exp(Double(logStd.value.scalar)), 0.7, accuracy: 0.05)
        XCTAssertEqual(summary.stoppedBecause, "converged")
        XCTAssertLessThan(summary.epochs, 300)
        XCTAssertEqual(summary.validationCurve.count, summary.epochs)
        XCTAssertEqual(reports.count, summary.epochs)
        XCTAssertEqual(summary.bestValidationScore, summary.validationCurve.max()!)
        XCTAssertEqual(summary.validationCurve[summary.bestEpoch - 1], summary.bestValidationScore)
        XCTAssertEqual(summary.epochs - summary.bestEpoch, 5, "stops stopAfterEpochs after the best")
        // The restored state is the best epoch's: re-evaluating gives the best score.
        let tape = Tape<Float>()
        let x = tape.constant(data.rows(at: Array(1800..<2000)))
        let s = tape.read(logStd)
        let score = ((x - tape.read(mean)) / s.exp()).square() * -0.5 - s
        XCTAssertEqual(Double(score.mean().value.scalar) - 0.9189385, summary.bestValidationScore, accuracy: 1e-4)
    }

    func testMaxEpochsBoundsTraining() {
        var rng = RandomSource(seed: 1)
        let p = Parameter<Float>(Matrix(scalar: 0))
        var settings = TrainingSettings()
        settings.maxEpochs = 3
        settings.stopAfterEpochs = 100
        let summary = Trainer(settings: settings).train(parameters: [p], training: [0, 1, 2], validation: [3], rng: &rng) { tape, _ in
            -(tape.read(p) - 10).square().mean()
        }
        XCTAssertEqual(summary.epochs, 3)
        XCTAssertEqual(summary.stoppedBecause, "max-epochs")
    }
}
