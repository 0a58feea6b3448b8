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
///
/// A score whose rows do not interact (`rows: .independent`, e.g. a density's mean
/// log-probability) is evaluated in chunks of `chunkRows` rows that `RowParallelism`
/// spreads over threads, each on its own tape; the chunks' gradients are added to the
/// parameters in chunk order, so the result is the same bits at any thread count. A score
/// that compares rows of the batch with each other (atomic losses, classifiers' contrastive
/// atoms) must see the whole batch: `rows: .coupled` records it on one tape.
///
/// Early stopping, and the summary's validation curve and best score, use `score` on the
/// held-out rows unless `validationScore` gives another (balanced NPE trains on a penalised
/// loss but is judged on its held-out log-probability).
public struct Trainer {
    public var settings: TrainingSettings

    /// Whether a score's rows may be evaluated apart and averaged.
    public enum ScoreRows: Sendable {
        /// The score is the mean of per-row terms: chunks may be evaluated on their own.
        case independent
        /// The score of a row depends on other rows of its batch.
        case coupled
    }

    /// A score with how its rows may be evaluated.
    public struct Score {
        public var rows: ScoreRows
        public var score: (Tape<Float>, [Int]) -> Variable<Float>

        public init(rows: ScoreRows, score: @escaping (Tape<Float>, [Int]) -> Variable<Float>) {
            self.rows = rows
            self.score = score
        }
    }

    /// Rows per chunk of an independent-rows score. Fixed, not derived from the thread
    /// count, because the chunking decides the order of floating-point sums. A chunk costs
    /// a fixed overhead per operation on top of its rows: on two moons' MAF (batch 200),
    /// 50-row chunks made one thread 15% slower than whole batches, 100-row chunks about
    /// 5%, while two threads on two 100-row chunks trained 1.3–1.6x faster.
    public static let chunkRows = 100

    public init(settings: TrainingSettings) { self.settings = settings }

    public func train(
        parameters: [Parameter<Float>],
        training: [Int], validation: [Int],
        rng: inout RandomSource,
        rows: ScoreRows = .coupled,
        score: (Tape<Float>, [Int]) -> Variable<Float>,
        validationScore: Score? = nil,
        progress: (EpochReport) throws -> Void
    ) rethrows -> TrainingSummary {
        precondition(!training.isEmpty, "training needs at least one row")
        let start = DispatchTime.now().uptimeNanoseconds
        var adam = Adam(parameters: parameters, learningRate: Float(settings.learningRate))
        let tape = Tape<Float>()
        // Validation only evaluates: no backward, no intermediates kept for one.
        let validationTape = Tape<Float>(recordsGradients: false)
        // One tape per chunk, kept from step to step so that their storage is reused.
        var chunkTapes: [Tape<Float>] = [], validationTapes: [Tape<Float>] = []
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
                switch rows {
                case .coupled:
                    tape.reset()
                    let s = score(tape, batch)
                    tape.backward(from: -s)
                    total += Double(s.value.scalar) * Double(batch.count)
                case .independent:
                    total += chunkedStep(batch, tapes: &chunkTapes, score: score)
                }
                if let clip = settings.clipMaxNorm { clipGradientNorm(parameters, maxNorm: Float(clip)) }
                adam.step()
            }
            let trainingScore = total / Double(order.count)
            let heldScore: Double
            switch (validationScore, rows) {
            case (let other?, _) where other.rows == .coupled: heldScore = evaluate(held, tape: validationTape, score: other.score)
            case (let other?, _): heldScore = evaluateInChunks(held, tapes: &validationTapes, score: other.score)
            case (nil, .coupled): heldScore = evaluate(held, tape: validationTape, score: score)
            case (nil, .independent): heldScore = evaluateInChunks(held, tapes: &validationTapes, score: score)
            }
            trainingCurve.append(trainingScore)
            validationCurve.append(heldScore)
            if heldScore > best {
                best = heldScore
                bestEpoch = epoch
                bestState = parameters.map(\.value)
                sinceBest = 0
            } else {
                sinceBest += 1
            }
            try progress(EpochReport(epoch: epoch, trainingScore: trainingScore, validationScore: heldScore,
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
                      rows: ScoreRows = .coupled, score: (Tape<Float>, [Int]) -> Variable<Float>) -> TrainingSummary {
        train(parameters: parameters, training: training, validation: validation, rng: &rng, rows: rows, score: score, progress: { _ in })
    }

    /// One step's gradients of an independent-rows score: each chunk of `batch` is scored
    /// on its own tape (on as many threads as `RowParallelism` allows), its gradient seeded
    /// with its share of the batch, and the shares are added to the parameters in chunk
    /// order. Returns the batch's summed score (mean × rows).
    func chunkedStep(_ batch: [Int], tapes: inout [Tape<Float>], score: (Tape<Float>, [Int]) -> Variable<Float>) -> Double {
        let chunks = Self.chunks(of: batch)
        while tapes.count < chunks.count { tapes.append(Tape<Float>()) }
        let scale = 1 / Float(batch.count)
        let tapes = tapes
        let shares = RowParallelism.map(chunks.count) { c -> ChunkShare in
            let tape = tapes[c]
            let s = score(tape, chunks[c])
            // d(−mean over the batch) = −(rows of the chunk / rows of the batch) · d(mean over the chunk)
            let gradients = tape.parameterGradients(from: s, seed: -Float(chunks[c].count) * scale)
            let share = ChunkShare(summedScore: Double(s.value.scalar) * Double(chunks[c].count), gradients: gradients)
            // Free the pass's intermediates on the thread that allocated them.
            tape.reset()
            return share
        }
        var total = 0.0
        for share in shares {
            total += share.summedScore
            for (parameter, g) in share.gradients { parameter.accumulateGradient(g) }
        }
        return total
    }

    /// The mean of an independent-rows score over `rows`, chunk by chunk on up to
    /// `RowParallelism.width` threads, without gradients; sums are taken in chunk order.
    func evaluateInChunks(_ rows: [Int], tapes: inout [Tape<Float>], score: (Tape<Float>, [Int]) -> Variable<Float>) -> Double {
        // Larger chunks than in a step: evaluation keeps no intermediates for a backward.
        let chunks = Self.chunks(of: rows, size: 500)
        while tapes.count < chunks.count { tapes.append(Tape<Float>(recordsGradients: false)) }
        let tapes = tapes
        let sums = RowParallelism.map(chunks.count) { c -> Double in
            let sum = Double(score(tapes[c], chunks[c]).value.scalar) * Double(chunks[c].count)
            tapes[c].reset()
            return sum
        }
        return sums.reduce(0, +) / Double(max(rows.count, 1))
    }

    static func chunks(of rows: [Int], size: Int = chunkRows) -> [[Int]] {
        stride(from: 0, to: rows.count, by: size).map { Array(rows[$0..<min($0 + size, rows.count)]) }
    }

    /// One chunk's summed score and parameter gradients.
    struct ChunkShare {
        var summedScore: Double
        var gradients: [(parameter: Parameter<Float>, gradient: Matrix<Float>)]
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
