import Foundation
import ILITensor

/// What happened in one epoch, for progress lines and saved curves.
public struct EpochReport: Sendable {
    public var epoch: Int
    /// Mean training objective per sample (higher is better: a log-probability, or a negated loss).
    public var trainingScore: Double
    public var validationScore: Double
    public var bestValidationScore: Double
    public var epochsSinceBest: Int
    public var elapsedSeconds: Double
}

/// The outcome of training one network: curves and the best state's epoch.
public struct TrainingSummary: Codable, Sendable, Equatable {
    public var epochs: Int
    public var bestEpoch: Int
    /// The best mean validation score (log-probability for density estimators).
    public var bestValidationScore: Double
    public var trainingCurve: [Double]
    public var validationCurve: [Double]
    public var seconds: Double
    public var trainingCount: Int
    public var validationCount: Int
    /// Why training stopped: `"converged"` (no improvement for stopAfterEpochs) or `"max-epochs"`.
    public var stoppedBecause: String
}

/// The training loop shared by every method: minibatch Adam with gradient clipping,
/// early stopping on a held-out score, and restoration of the best parameters.
///
/// The method supplies `score`, the mean per-sample objective of a batch of row indices
/// recorded on a tape (higher is better); the loop maximises it.
public struct Trainer {
    public var settings: TrainingSettings

    public init(settings: TrainingSettings) { self.settings = settings }

    public func train(
        parameters: [Parameter<Float>],
        training: [Int], validation: [Int],
        rng: inout RandomSource,
        score: (Tape<Float>, [Int]) -> Variable<Float>,
        progress: (EpochReport) throws -> Void
    ) rethrows -> TrainingSummary {
        precondition(!training.isEmpty, "training needs at least one row")
        let start = DispatchTime.now().uptimeNanoseconds
        var adam = Adam(parameters: parameters, learningRate: Float(settings.learningRate))
        let tape = Tape<Float>()
        // Validation only evaluates: no backward, no intermediates kept for one.
        let validationTape = Tape<Float>(recordsGradients: false)
        var best = -Double.infinity
        var bestEpoch = 0
        var bestState = parameters.map(\.value)
        var sinceBest = 0
        var trainingCurve: [Double] = [], validationCurve: [Double] = []
        var epoch = 0
        var stoppedBecause = "converged"
        // Without a validation set, the training score decides.
        let held = validation.isEmpty ? training : validation

        while true {
            if let maxEpochs = settings.maxEpochs, epoch >= maxEpochs { stoppedBecause = "max-epochs"; break }
            epoch += 1
            let order = rng.permutation(training.count).map { training[$0] }
            var total = 0.0
            var begin = 0
            while begin < order.count {
                let batch = Array(order[begin..<min(begin + settings.batchSize, order.count)])
                begin += settings.batchSize
                tape.reset()
                let s = score(tape, batch)
                tape.backward(from: -s)
                if let clip = settings.clipMaxNorm { clipGradientNorm(parameters, maxNorm: Float(clip)) }
                adam.step()
                total += Double(s.value.scalar) * Double(batch.count)
            }
            let trainingScore = total / Double(order.count)
            let validationScore = evaluate(held, tape: validationTape, score: score)
            trainingCurve.append(trainingScore)
            validationCurve.append(validationScore)
            if validationScore > best {
                best = validationScore
                bestEpoch = epoch
                bestState = parameters.map(\.value)
                sinceBest = 0
            } else {
                sinceBest += 1
            }
            try progress(EpochReport(epoch: epoch, trainingScore: trainingScore, validationScore: validationScore,
                                 bestValidationScore: best, epochsSinceBest: sinceBest,
                                 elapsedSeconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9))
            if sinceBest >= settings.stopAfterEpochs { break }
        }
        for (p, v) in zip(parameters, bestState) { p.value = v }
        return TrainingSummary(epochs: epoch, bestEpoch: bestEpoch, bestValidationScore: best,
                               trainingCurve: trainingCurve, validationCurve: validationCurve,
                               seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9,
                               trainingCount: training.count, validationCount: validation.count,
                               stoppedBecause: stoppedBecause)
    }

    /// As `train(…progress:)`, without watching the epochs.
    public func train(parameters: [Parameter<Float>], training: [Int], validation: [Int], rng: inout RandomSource,
                      score: (Tape<Float>, [Int]) -> Variable<Float>) -> TrainingSummary {
        train(parameters: parameters, training: training, validation: validation, rng: &rng, score: score, progress: { _ in })
    }

    /// The mean score over `rows`, in batches, without gradients.
    func evaluate(_ rows: [Int], tape: Tape<Float>, score: (Tape<Float>, [Int]) -> Variable<Float>) -> Double {
        var total = 0.0
        var begin = 0
        let chunk = max(settings.batchSize, 1000)
        while begin < rows.count {
            let batch = Array(rows[begin..<min(begin + chunk, rows.count)])
            begin += chunk
            tape.reset()
            total += Double(score(tape, batch).value.scalar) * Double(batch.count)
        }
        return total / Double(max(rows.count, 1))
    }
}
