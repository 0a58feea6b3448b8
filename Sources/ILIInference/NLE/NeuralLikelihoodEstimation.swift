import Foundation
import ILINets

/// Amortised neural likelihood estimation: an ensemble of q(x | θ), the density estimators
/// of NPE with the roles of θ and x swapped, sampled at an observation by MCMC.
///
/// ```swift
/// let result = try NeuralLikelihoodEstimation.train(configurations: [.maf(features: 2, context: 2)],
///                                                  data: data, settings: TrainingSettings(), seed: 1)
/// let posterior = MCMCPosterior(prior: prior, model: .likelihood(result.ensemble))
/// ```
public enum NeuralLikelihoodEstimation {
    /// Trains one member per configuration (features x, context θ) on the same seeded split,
    /// in parallel when the settings allow, and weights them by validation log-probability.
    public static func train(configurations: [DensityEstimatorConfiguration], data: SimulationDataset,
                             settings: TrainingSettings, seed: UInt64,
                             observer: (any TrainingObserver)? = nil) throws -> DensityEnsembleResult {
        let jobs = EnsembleTraining.jobs(method: .nle, estimators: configurations.map(MemberEstimator.density),
                                         training: settings, seed: seed)
        let trained = try EnsembleTraining.train(jobs, data: data, observer: observer)
        return DensityEnsembleResult(members: trained.members, weights: trained.weights, droppedRows: data.droppedRows)
    }
}
