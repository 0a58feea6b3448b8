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
                             progress: TrainingProgress = .automatic) throws -> DensityEnsembleResult {
        try DensityEnsembleTraining.train(configurations: configurations, features: data.x, context: data.theta,
                                          droppedRows: data.droppedRows, settings: settings, seed: seed, progress: progress)
    }
}
