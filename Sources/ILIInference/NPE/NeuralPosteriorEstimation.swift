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
    public typealias Result = DensityEnsembleResult

    /// Trains one member per configuration (features θ, context x) on the same seeded split,
    /// in parallel when the settings allow, and weights them by validation log-probability.
    public static func train(configurations: [DensityEstimatorConfiguration], data: SimulationDataset,
                             settings: TrainingSettings, seed: UInt64,
                             progress: TrainingProgress = .automatic) throws -> Result {
        try DensityEnsembleTraining.train(configurations: configurations, features: data.theta, context: data.x,
                                          droppedRows: data.droppedRows, settings: settings, seed: seed, progress: progress)
    }
}
