import Foundation
import ILINets

/// Amortised neural posterior estimation: an ensemble of q(θ | x) trained by maximum
/// likelihood on simulated pairs.
///
/// ```swift
/// let result = try NeuralPosteriorEstimation.train(configurations: [.maf(features: 2, context: 2)],
///                                                 data: data, settings: TrainingSettings(), seed: 1)
/// let posterior = DirectPosterior(prior: prior, ensemble: result.ensemble)
/// ```
public enum NeuralPosteriorEstimation {
    /// The trained ensemble with one summary per member.
    public struct Result {
        public let ensemble: DensityEnsemble
        public let summaries: [TrainingSummary]
        public let configurations: [DensityEstimatorConfiguration]
        public let droppedRows: Int
    }

    /// Trains one member per configuration on the same seeded split, in parallel when the
    /// settings allow, and weights them by validation log-probability.
    public static func train(configurations: [DensityEstimatorConfiguration], data: SimulationDataset,
                             settings: TrainingSettings, seed: UInt64,
                             progress: TrainingProgress = .automatic) throws -> Result {
        var rng = RandomSource(seed: seed)
        let split = data.split(validationFraction: settings.validationFraction, rng: &rng)
        let memberSeeds = configurations.map { _ in rng.next() }
        let trainingTheta = data.theta.rows(at: split.training)
        let trainingX = data.x.rows(at: split.training)
        progress.note("training \(configurations.count) member(s) on \(split.training.count) simulations, validating on \(split.validation.count)"
                      + (data.droppedRows > 0 ? " (\(data.droppedRows) rows with NaN or infinite values dropped)" : ""))

        let trained = try runJobs(configurations.count, parallel: settings.parallelMembers) { k -> (any ConditionalDensityEstimator<Float>, TrainingSummary) in
            var memberRNG = RandomSource(seed: memberSeeds[k])
            let estimator: any ConditionalDensityEstimator<Float> = try makeDensityEstimator(configurations[k], rng: &memberRNG)
            estimator.fitStandardization(features: trainingTheta, context: trainingX)
            let label = "\(configurations[k].kind.rawValue) #\(k)"
            let summary = Trainer(settings: settings).train(
                parameters: estimator.parameters, training: split.training, validation: split.validation, rng: &memberRNG,
                score: { tape, rows in
                    estimator.logProb(tape.constant(data.theta.rows(at: rows)), context: tape.constant(data.x.rows(at: rows))).mean()
                },
                progress: { progress.report(label, $0) })
            progress.note("[\(label)] done: \(summary.epochs) epochs, best validation log-prob \(String(format: "%.4f", summary.bestValidationScore)) at epoch \(summary.bestEpoch), \(String(format: "%.1f", summary.seconds)) s")
            return (estimator, summary)
        }
        let summaries = trained.map(\.1)
        let weights = DensityEnsemble.weights(fromValidationScores: summaries.map(\.bestValidationScore))
        return Result(ensemble: DensityEnsemble(members: trained.map(\.0), weights: weights),
                      summaries: summaries, configurations: trained.map(\.0.configuration), droppedRows: data.droppedRows)
    }
}
