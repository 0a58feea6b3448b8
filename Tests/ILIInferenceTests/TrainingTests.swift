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

    /// With a validation score of its own, early stopping judges that score, not the
    /// training one: training pulls w from 0 towards 10, the validation score prefers w = −1,
    /// so it is best after the first epoch, training stops `stopAfterEpochs` later, and w
    /// is restored to its value after that first epoch (Adam's first step: the learning rate).
    func testEarlyStoppingJudgesTheValidationScoreWhenOneIsGiven() {
        var rng = RandomSource(seed: 1)
        let p = Parameter<Float>(Matrix(scalar: 0))
        var settings = TrainingSettings()
        settings.learningRate = 0.05
        settings.stopAfterEpochs = 3
        settings.maxEpochs = 50
        let summary = Trainer(settings: settings).train(
            parameters: [p], training: [0, 1, 2], validation: [3], rng: &rng,
            score: { tape, _ in -(tape.read(p) - 10).square().mean() },
            validationScore: Trainer.Score(rows: .independent) { tape, _ in -(tape.read(p) + 1).square().mean() },
            progress: { _ in })
        XCTAssertEqual(summary.bestEpoch, 1)
        XCTAssertEqual(summary.epochs, 4)
        XCTAssertEqual(summary.stoppedBecause, "converged")
        XCTAssertEqual(Double(p.value.scalar), 0.05, accuracy: 1e-4)
        XCTAssertEqual(summary.bestValidationScore, -(1.05 * 1.05), accuracy: 1e-4)
        XCTAssertLessThan(summary.trainingCurve[0], -80, "the training curve records the training score")
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
        // Each member alone splits its batches into chunks over the row threads.
        for width in [2, 3] {
            XCTAssertTrue(try densityWeights(width: width, parallel: false) == inTurn, "NPE members in turn on \(width) row threads")
        }
        func likelihoodWeights(width: Int) throws -> [[Float]] {
            try RowParallelism.withWidth(width) {
                try NeuralLikelihoodEstimation.train(configurations: [.maf(features: 2, context: 2)], data: data, settings: settings, seed: 12)
                    .ensemble.members.flatMap { $0.parameters.map(\.value.storage) }
            }
        }
        XCTAssertTrue(try likelihoodWeights(width: 2) == likelihoodWeights(width: 1), "NLE on two row threads")
    }

    /// A member given a starting network trains on from it, keeping its z-scoring: with a
    /// vanishing learning rate it comes back unchanged, and its first epoch scores the new
    /// data as the old network does, far above a fresh network's first epoch. A network of
    /// another configuration is refused.
    func testAMemberContinuesFromTheNetworkItIsGiven() throws {
        var rng = RandomSource(seed: 21)
        let task = TwoMoons()
        let (theta0, x0) = task.simulations(1000, rng: &rng)
        let (theta1, x1) = task.simulations(1000, rng: &rng)
        let first = try SimulationDataset(theta: theta0, x: x0)
        let both = try SimulationDataset(theta: Matrix(rows: 2000, cols: 2, theta0.storage + theta1.storage),
                                         x: Matrix(rows: 2000, cols: 2, x0.storage + x1.storage))
        var settings = TrainingSettings()
        settings.maxEpochs = 15
        let job = EnsembleMemberJob(method: .npe, estimator: .density(.maf(features: 2, context: 2)), training: settings,
                                    seed: 4, member: 0, memberCount: 1)
        let trained = try job.train(on: first)
        let before = trained.model.stateTensors()

        var still = job
        still.training.maxEpochs = 1
        still.training.learningRate = 1e-12
        let continued = try still.train(on: both, startingFrom: TrainedModel.decoding(try trained.model.encoded(), source: "test"))
        for (name, value) in before {
            let after = try XCTUnwrap(continued.model.stateTensors()[name], name)
            for (a, b) in zip(value.storage, after.storage) { XCTAssertEqual(a, b, accuracy: 1e-6, name) }
        }
        var fresh = job
        fresh.training.maxEpochs = 1
        let freshStart = try fresh.train(on: both).summary.validationCurve[0]
        XCTAssertGreaterThan(continued.summary.validationCurve[0], freshStart + 0.5,
                             "the continued network starts where round 0 ended, not from scratch")

        let other = EnsembleMemberJob(method: .npe, estimator: .density(.mdn(features: 2, context: 2)), training: settings,
                                      seed: 4, member: 0, memberCount: 1)
        XCTAssertThrowsError(try other.train(on: both, startingFrom: trained.model)) { error in
            XCTAssertTrue("\(error)".contains("cannot continue training from a maf network"), "\(error)")
        }
    }

    /// A batch scored in chunks (`rows: .independent`) is the same step as the whole batch
    /// on one tape, up to the order of floating-point sums: the chunks' gradients are
    /// weighted by their share of the batch, including a last chunk shorter than the others.
    func testChunkedStepsMatchWholeBatchSteps() {
        var rng = RandomSource(seed: 3)
        let n = 1130
        let data: Matrix<Float> = Matrix(rows: n, cols: 2) { _, j in Float(0.5 * Double(j) + 0.8 * rng.normal()) }
        func train(_ rows: Trainer.ScoreRows, width: Int) -> (weights: [Float], summary: TrainingSummary) {
            var initial = RandomSource(seed: 4)
            let w = Parameter<Float>.linearWeight(outputs: 2, inputs: 2, rng: &initial), b = Parameter<Float>.linearBias(outputs: 2, inputs: 2, rng: &initial)
            var settings = TrainingSettings()
            settings.batchSize = 230    // four full chunks and one of 30 rows
            settings.maxEpochs = 3
            settings.learningRate = 0.01
            var order = RandomSource(seed: 5)
            let summary = RowParallelism.withWidth(width) {
                Trainer(settings: settings).train(parameters: [w, b], training: Array(0..<1000), validation: Array(1000..<n),
                                                  rng: &order, rows: rows) { tape, batch in
                    // A per-row score: minus half the squared norm of an affine map of each row.
                    let y = tape.constant(data.rows(at: batch)).linear(tape.read(w), bias: tape.read(b))
                    return (y.square() * -0.5).sumEachRow().mean()
                }
            }
            return (w.value.storage + b.value.storage, summary)
        }
        let whole = train(.coupled, width: 1)
        let chunked = train(.independent, width: 1)
        for (a, b) in zip(whole.weights, chunked.weights) { XCTAssertEqual(a, b, accuracy: 1e-5) }
        for (a, b) in zip(whole.summary.trainingCurve + whole.summary.validationCurve,
                          chunked.summary.trainingCurve + chunked.summary.validationCurve) {
            XCTAssertEqual(a, b, accuracy: 1e-5 * max(1, abs(a)))
        }
        // The weights moved: the comparison is of three epochs of real steps.
        var initial = RandomSource(seed: 4)
        let start = Parameter<Float>.linearWeight(outputs: 2, inputs: 2, rng: &initial).value.storage
        XCTAssertGreaterThan(zip(start, chunked.weights).map { abs($0 - $1) }.max()!, 0.01)
        XCTAssertEqual(train(.independent, width: 3).weights, chunked.weights, "same bits on three row threads")
    }
}
