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
    /// Trains one member per configuration on the same seeded split (see `EnsembleTraining`),
    /// in parallel when the settings allow, and weights them by validation log-probability.
    static func train(configurations: [DensityEstimatorConfiguration], features: Matrix<Float>, context: Matrix<Float>,
                      droppedRows: Int, settings: TrainingSettings, seed: UInt64,
                      progress: TrainingProgress) throws -> DensityEnsembleResult {
        precondition(features.rows == context.rows, "features and context must pair row by row")
        let plan = EnsembleTraining(rows: features.rows, members: configurations.count, settings: settings, seed: seed)
        let trainingFeatures = features.rows(at: plan.training)
        let trainingContext = context.rows(at: plan.training)
        progress.note("training \(configurations.count) member(s) on \(plan.training.count) simulations, validating on \(plan.validation.count)"
                      + (droppedRows > 0 ? " (\(droppedRows) rows with NaN or infinite values dropped)" : ""))
        let trained = try plan.train(progress: progress, scoreNote: { String(format: "log-prob %.4f", $0) }) { k, rng in
            let estimator: any ConditionalDensityEstimator<Float> = try makeDensityEstimator(configurations[k], rng: &rng)
            estimator.fitStandardization(features: trainingFeatures, context: trainingContext)
            return EnsembleTraining.Member(model: estimator, parameters: estimator.parameters,
                                           label: "\(configurations[k].kind.rawValue) #\(k)") { tape, rows in
                estimator.logProb(tape.constant(features.rows(at: rows)), context: tape.constant(context.rows(at: rows))).mean()
            }
        }
        return DensityEnsembleResult(ensemble: DensityEnsemble(members: trained.models, weights: trained.weights),
                                     summaries: trained.summaries, configurations: trained.models.map(\.configuration),
                                     droppedRows: droppedRows)
    }
}
