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

    /// Same seed, same trained weights, bit for bit, whatever the number of row threads and
    /// whether ensemble members train side by side or one after another. The residual
    /// classifiers split their rows into 512-row chunks over the threads: NRE-B's 200 pairs
    /// × 10 atoms are 2,000 rows, NRE-C's 200 × (5 classes + 1) are 1,200.
    func testSameSeedGivesTheSameWeightsForAnyThreadCountAndMemberSchedule() throws {
        var rng = RandomSource(seed: 5)
        let task = TwoMoons()
        let (theta, x) = task.simulations(1200, rng: &rng)
        let data = try SimulationDataset(theta: theta, x: x)
        var settings = TrainingSettings()
        settings.maxEpochs = 2
        func ratioWeights(_ variant: RatioEstimationSettings.Variant, members: Int, width: Int, parallel: Bool = true,
                          seed: UInt64 = 9) throws -> [[Float]] {
            var s = settings
            s.parallelMembers = parallel
            return try RowParallelism.withWidth(width) {
                let result = try NeuralRatioEstimation.train(
                    configurations: Array(repeating: ClassifierConfiguration(parameterCount: 2, dataCount: 2), count: members),
                    data: data, ratio: .init(variant: variant), settings: s, seed: seed)
                return result.ensemble.members.flatMap { $0.parameters.map(\.value.storage) }
            }
        }
        let oneThread = try ratioWeights(.b, members: 1, width: 1)
        XCTAssertNotEqual(try ratioWeights(.b, members: 1, width: 1, seed: 10), oneThread, "another seed trains other weights")
        for width in [2, 3] {
            XCTAssertTrue(try ratioWeights(.b, members: 1, width: width) == oneThread, "NRE-B on \(width) row threads")
        }

        // Two NRE-C members on two threads: side by side (one thread each) or one after the
        // other (two threads each), against both on one thread.
        let sequentialOneThread = try ratioWeights(.c, members: 2, width: 1, parallel: false)
        XCTAssertTrue(try ratioWeights(.c, members: 2, width: 2, parallel: true) == sequentialOneThread, "members side by side")
        XCTAssertTrue(try ratioWeights(.c, members: 2, width: 2, parallel: false) == sequentialOneThread, "members in turn, two threads each")

        // NPE members of three kinds, side by side and in turn.
        func densityWeights(width: Int, parallel: Bool) throws -> [[Float]] {
            var s = settings
            s.parallelMembers = parallel
            var nsf = DensityEstimatorConfiguration.nsf(features: 2, context: 2)
            nsf.transformCount = 2
            return try RowParallelism.withWidth(width) {
                let result = try NeuralPosteriorEstimation.train(
                    configurations: [.maf(features: 2, context: 2), nsf, .mdn(features: 2, context: 2)],
                    data: data, settings: s, seed: 11)
                return result.ensemble.members.flatMap { $0.parameters.map(\.value.storage) }
            }
        }
        let inTurn = try densityWeights(width: 1, parallel: false)
        XCTAssertTrue(try densityWeights(width: 3, parallel: true) == inTurn, "NPE members side by side")
    }
}
