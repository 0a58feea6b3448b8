import Foundation
import ILINets

/// A trained ensemble of conditional densities q(features | context) with what training found.
public struct DensityEnsembleResult {
    public let ensemble: DensityEnsemble
    public let members: [TrainedMember]
    public let droppedRows: Int

    public var summaries: [TrainingSummary] { members.map(\.summary) }
    /// The trained members' configurations (with the permutations drawn at build time).
    public var configurations: [DensityEstimatorConfiguration] { ensemble.members.map(\.configuration) }

    init(members: [TrainedMember], weights: [Double], droppedRows: Int) {
        self.members = members
        self.droppedRows = droppedRows
        ensemble = DensityEnsemble(members: members.map { member -> any ConditionalDensityEstimator<Float> in
            guard case .density(let density) = member.model else { preconditionFailure("a density ensemble of classifiers") }
            return density
        }, weights: weights)
    }
}

/// Amortised neural posterior estimation: an ensemble of q(θ | x) trained by maximum
/// likelihood on simulated pairs.
///
/// ```swift
/// let result = try NeuralPosteriorEstimation.train(configurations: [.maf(features: 2, context: 2)],
///                                                 data: data, settings: TrainingSettings(), seed: 1)
/// let posterior = DirectPosterior(prior: prior, ensemble: result.ensemble)
/// ```
public enum NeuralPosteriorEstimation {
    public typealias Result = DensityEnsembleResult

    /// Trains one member per configuration (features θ, context x) on the same seeded split,
    /// in parallel when the settings allow, and weights them by validation log-probability.
    public static func train(configurations: [DensityEstimatorConfiguration], data: SimulationDataset,
                             settings: TrainingSettings, seed: UInt64, loss: PosteriorLoss = .maximumLikelihood,
                             observer: (any TrainingObserver)? = nil) throws -> Result {
        let jobs = EnsembleTraining.jobs(method: .npe, estimators: configurations.map(MemberEstimator.density),
                                         posteriorLoss: loss, training: settings, seed: seed)
        let trained = try EnsembleTraining.train(jobs, data: data, observer: observer)
        return Result(members: trained.members, weights: trained.weights, droppedRows: data.droppedRows)
    }
}
