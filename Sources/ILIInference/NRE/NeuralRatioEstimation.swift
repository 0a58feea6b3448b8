import Foundation
import ILINets

/// Amortised neural ratio estimation: classifiers whose logit estimates
/// log p(x | θ) / p(x), trained with the loss of NRE-A, NRE-B, NRE-C or BNRE and sampled
/// at an observation by MCMC.
///
/// ```swift
/// let result = try NeuralRatioEstimation.train(configurations: [ClassifierConfiguration(parameterCount: 2, dataCount: 2)],
///                                             data: data, ratio: RatioEstimationSettings(variant: .b),
///                                             settings: TrainingSettings(), seed: 1)
/// ```
public enum NeuralRatioEstimation {
    public struct Result {
        public let ensemble: RatioEnsemble
        public let summaries: [TrainingSummary]
        public let configurations: [ClassifierConfiguration]
        public let ratio: RatioEstimationSettings
        public let droppedRows: Int
    }

    /// Trains one classifier per configuration on the same seeded split (the split NPE and
    /// NLE make with the same seed), in parallel when the settings allow. The score the loop
    /// maximises, and that weights members, is the negated loss.
    public static func train(configurations: [ClassifierConfiguration], data: SimulationDataset,
                             ratio: RatioEstimationSettings, settings: TrainingSettings, seed: UInt64,
                             progress: TrainingProgress = .automatic) throws -> Result {
        // Each NRE-B member's logit is log r plus its own unknown function of x, so a
        // mixture of members would weight them by those functions, not by their fit.
        guard ratio.variant != .b || configurations.count == 1 else {
            throw PosteriorError(.unsupportedEnsemble, "NRE-B learns each member's ratio only up to its own function of x, so its members cannot be mixed; train one NRE-B classifier, or an ensemble with variant a, c or bnre")
        }
        let plan = EnsembleTraining(rows: data.count, members: configurations.count, settings: settings, seed: seed)
        let trainingTheta = data.theta.rows(at: plan.training)
        let trainingX = data.x.rows(at: plan.training)
        progress.note("training \(configurations.count) NRE-\(ratio.variant.rawValue.uppercased()) classifier(s) on \(plan.training.count) simulations, validating on \(plan.validation.count)"
                      + (data.droppedRows > 0 ? " (\(data.droppedRows) rows with NaN or infinite values dropped)" : ""))
        let trained = try plan.train(progress: progress, scoreNote: { String(format: "loss %.4f", -$0) }) { k, rng in
            let classifier = RatioClassifier<Float>(configuration: configurations[k], rng: &rng)
            classifier.fitStandardization(parameters: trainingTheta, data: trainingX)
            return EnsembleTraining.Member(model: classifier, parameters: classifier.parameters,
                                           label: "\(configurations[k].architecture == .residual ? "resnet" : "mlp") #\(k)") { tape, rows in
                -RatioLoss.loss(ratio, classifier: classifier, theta: data.theta.rows(at: rows), x: data.x.rows(at: rows), tape: tape)
            }
        }
        return Result(ensemble: RatioEnsemble(members: trained.models, weights: trained.weights), summaries: trained.summaries,
                      configurations: configurations, ratio: ratio, droppedRows: data.droppedRows)
    }
}
