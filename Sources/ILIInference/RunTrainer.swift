import Foundation
import ILINets

/// Carries out a run configuration: loads the data, trains the method's ensemble and writes
/// the posterior directory. What `ili train` does.
public enum RunTrainer {
    /// Trains and saves; returns a few lines that summarise the result.
    public static func train(_ run: RunConfiguration, progress: TrainingProgress) throws -> String {
        let data = try SimulationDataset.load(theta: run.thetaPath, x: run.xPath)
        let prior = try run.prior.makePrior(source: run.source)
        guard data.theta.cols == prior.dimension else {
            throw ConfigError(.invalidValue, source: run.source, keyPath: "data.theta",
                              "\(run.thetaPath) has \(data.theta.cols) columns but the prior has \(prior.dimension) parameters")
        }
        let experiment = URL(fileURLWithPath: run.outputDirectory).lastPathComponent
        switch run.method {
        case .npe:
            var configurations: [DensityEstimatorConfiguration] = []
            for entry in run.estimators {
                let c = try DensityEstimatorOptions.configuration(for: entry, featureCount: data.theta.cols, contextCount: data.x.cols,
                                                                  featureName: "theta", contextName: "x")
                configurations += Array(repeating: c, count: entry.repeats)
            }
            let result = try NeuralPosteriorEstimation.train(configurations: configurations, data: data,
                                                             settings: run.training, seed: run.seed, progress: progress)
            try PosteriorArchive.write(npe: result, prior: run.prior, experiment: experiment,
                                       experimentConfig: ["source": run.source], to: run.outputDirectory)
            var lines = ["trained \(configurations.count) NPE member(s) on \(data.count) simulations"
                         + (data.droppedRows > 0 ? " (\(data.droppedRows) dropped: NaN or infinite)" : "")]
            for (k, s) in result.summaries.enumerated() {
                lines.append(String(format: "  member %d (%@): %d epochs, best validation log-prob %.4f, weight %.3f, %.1f s",
                                    k, result.configurations[k].kind.rawValue, s.epochs, s.bestValidationScore,
                                    result.ensemble.weights[k], s.seconds))
            }
            lines.append("posterior written to \(run.outputDirectory)")
            return lines.joined(separator: "\n")
        case .nle, .nre:
            throw ConfigError(.invalidValue, source: run.source, keyPath: "inference.method",
                              "\(run.method.rawValue) is not available in this version of ili; use npe")
        }
    }
}
