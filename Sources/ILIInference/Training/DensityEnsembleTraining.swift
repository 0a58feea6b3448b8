import Foundation
import ILINets

/// A trained ensemble of conditional densities q(features | context) with what training found.
public struct DensityEnsembleResult {
    public let ensemble: DensityEnsemble
    public let summaries: [TrainingSummary]
    public let configurations: [DensityEstimatorConfiguration]
    public let droppedRows: Int
}

/// Maximum-likelihood training of an ensemble of conditional density estimators on the
/// rows of two paired matrices, shared by NPE (q(θ | x)) and NLE (q(x | θ)).
enum DensityEnsembleTraining {
    /// Trains one member per configuration on the same seeded split, in parallel when the
    /// settings allow, and weights them by validation log-probability.
    ///
    /// The split and the members' seeds come from `seed` alone, so NPE and NLE on the same
    /// data and seed hold out the same simulations.
    static func train(configurations: [DensityEstimatorConfiguration], features: Matrix<Float>, context: Matrix<Float>,
                      droppedRows: Int, settings: TrainingSettings, seed: UInt64,
                      progress: TrainingProgress) throws -> DensityEnsembleResult {
        precondition(features.rows == context.rows, "features and context must pair row by row")
        var rng = RandomSource(seed: seed)
        let split = SimulationDataset.split(count: features.rows, validationFraction: settings.validationFraction, rng: &rng)
        let memberSeeds = configurations.map { _ in rng.next() }
        let trainingFeatures = features.rows(at: split.training)
        let trainingContext = context.rows(at: split.training)
        progress.note("training \(configurations.count) member(s) on \(split.training.count) simulations, validating on \(split.validation.count)"
                      + (droppedRows > 0 ? " (\(droppedRows) rows with NaN or infinite values dropped)" : ""))

        let trained = try runJobs(configurations.count, parallel: settings.parallelMembers) { k -> (any ConditionalDensityEstimator<Float>, TrainingSummary) in
            var memberRNG = RandomSource(seed: memberSeeds[k])
            let estimator: any ConditionalDensityEstimator<Float> = try makeDensityEstimator(configurations[k], rng: &memberRNG)
            estimator.fitStandardization(features: trainingFeatures, context: trainingContext)
            let label = "\(configurations[k].kind.rawValue) #\(k)"
            let summary = Trainer(settings: settings).train(
                parameters: estimator.parameters, training: split.training, validation: split.validation, rng: &memberRNG,
                score: { tape, rows in
                    estimator.logProb(tape.constant(features.rows(at: rows)), context: tape.constant(context.rows(at: rows))).mean()
                },
                progress: { progress.report(label, $0) })
            progress.note("[\(label)] done: \(summary.epochs) epochs, best validation log-prob \(String(format: "%.4f", summary.bestValidationScore)) at epoch \(summary.bestEpoch), \(String(format: "%.1f", summary.seconds)) s")
            return (estimator, summary)
        }
        let summaries = trained.map(\.1)
        let weights = DensityEnsemble.weights(fromValidationScores: summaries.map(\.bestValidationScore))
        return DensityEnsembleResult(ensemble: DensityEnsemble(members: trained.map(\.0), weights: weights),
                                     summaries: summaries, configurations: trained.map(\.0.configuration), droppedRows: droppedRows)
    }
}
