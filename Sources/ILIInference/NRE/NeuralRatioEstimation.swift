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
        public let members: [TrainedMember]
        public let ratio: RatioEstimationSettings
        public let droppedRows: Int

        public var summaries: [TrainingSummary] { members.map(\.summary) }
        public var configurations: [ClassifierConfiguration] { ensemble.members.map(\.configuration) }
    }

    /// Trains one classifier per configuration on the same seeded split (the split NPE and
    /// NLE make with the same seed), in parallel when the settings allow. The score the loop
    /// maximises, and that weights members, is the negated loss.
    public static func train(configurations: [ClassifierConfiguration], data: SimulationDataset,
                             ratio: RatioEstimationSettings, settings: TrainingSettings, seed: UInt64,
                             observer: (any TrainingObserver)? = nil) throws -> Result {
        // Each NRE-B member's logit is log r plus its own unknown function of x, so a
        // mixture of members would weight them by those functions, not by their fit.
        guard ratio.variant != .b || configurations.count == 1 else {
            throw PosteriorError(.unsupportedEnsemble, "NRE-B learns each member's ratio only up to its own function of x, so its members cannot be mixed; train one NRE-B classifier, or an ensemble with variant a, c or bnre")
        }
        let jobs = EnsembleTraining.jobs(method: .nre, estimators: configurations.map(MemberEstimator.classifier),
                                         ratio: ratio, training: settings, seed: seed)
        let trained = try EnsembleTraining.train(jobs, data: data, observer: observer)
        let classifiers = trained.members.map { member -> RatioClassifier<Float> in
            guard case .classifier(let classifier) = member.model else { preconditionFailure("a ratio ensemble of densities") }
            return classifier
        }
        return Result(ensemble: RatioEnsemble(members: classifiers, weights: trained.weights), members: trained.members,
                      ratio: ratio, droppedRows: data.droppedRows)
    }
}
