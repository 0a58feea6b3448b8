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
        var rng = RandomSource(seed: seed)
        let split = data.split(validationFraction: settings.validationFraction, rng: &rng)
        let memberSeeds = configurations.map { _ in rng.next() }
        let trainingTheta = data.theta.rows(at: split.training)
        let trainingX = data.x.rows(at: split.training)
        progress.note("training \(configurations.count) NRE-\(ratio.variant.rawValue.uppercased()) classifier(s) on \(split.training.count) simulations, validating on \(split.validation.count)"
                      + (data.droppedRows > 0 ? " (\(data.droppedRows) rows with NaN or infinite values dropped)" : ""))

        let trained = try runJobs(configurations.count, parallel: settings.parallelMembers) { k -> (RatioClassifier<Float>, TrainingSummary) in
            var memberRNG = RandomSource(seed: memberSeeds[k])
            let classifier = RatioClassifier<Float>(configuration: configurations[k], rng: &memberRNG)
            classifier.fitStandardization(parameters: trainingTheta, data: trainingX)
            let label = "\(configurations[k].architecture == .residual ? "resnet" : "mlp") #\(k)"
            let summary = Trainer(settings: settings).train(
                parameters: classifier.parameters, training: split.training, validation: split.validation, rng: &memberRNG,
                score: { tape, rows in
                    -RatioLoss.loss(ratio, classifier: classifier, theta: data.theta.rows(at: rows), x: data.x.rows(at: rows), tape: tape)
                },
                progress: { progress.report(label, $0) })
            progress.note("[\(label)] done: \(summary.epochs) epochs, best validation loss \(String(format: "%.4f", -summary.bestValidationScore)) at epoch \(summary.bestEpoch), \(String(format: "%.1f", summary.seconds)) s")
            return (classifier, summary)
        }
        let summaries = trained.map(\.1)
        let weights = DensityEnsemble.weights(fromValidationScores: summaries.map(\.bestValidationScore))
        return Result(ensemble: RatioEnsemble(members: trained.map(\.0), weights: weights), summaries: summaries,
                      configurations: configurations, ratio: ratio, droppedRows: data.droppedRows)
    }
}
