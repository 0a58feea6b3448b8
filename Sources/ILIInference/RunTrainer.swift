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
        var lines: [String] = []
        func summarise(_ method: String, kinds: [String], summaries: [TrainingSummary], weights: [Double], scoreName: String, sign: Double) {
            lines.append("trained \(summaries.count) \(method) member(s) on \(data.count) simulations"
                         + (data.droppedRows > 0 ? " (\(data.droppedRows) dropped: NaN or infinite)" : ""))
            for (k, s) in summaries.enumerated() {
                lines.append(String(format: "  member %d (%@): %d epochs, best validation %@ %.4f, weight %.3f, %.1f s",
                                    k, kinds[k], s.epochs, scoreName, sign * s.bestValidationScore, weights[k], s.seconds))
            }
        }
        switch run.method {
        case .npe, .nle:
            let isNLE = run.method == .nle
            var configurations: [DensityEstimatorConfiguration] = []
            for entry in run.estimators {
                let c = isNLE
                    ? try DensityEstimatorOptions.configuration(for: entry, featureCount: data.x.cols, contextCount: data.theta.cols,
                                                                featureName: "x", contextName: "theta")
                    : try DensityEstimatorOptions.configuration(for: entry, featureCount: data.theta.cols, contextCount: data.x.cols,
                                                                featureName: "theta", contextName: "x")
                configurations += Array(repeating: c, count: entry.repeats)
            }
            if isNLE {
                let result = try NeuralLikelihoodEstimation.train(configurations: configurations, data: data,
                                                                  settings: run.training, seed: run.seed, progress: progress)
                try PosteriorArchive.write(nle: result, sampler: run.sampler, prior: run.prior, experiment: experiment,
                                           experimentConfig: ["source": run.source], to: run.outputDirectory)
                summarise("NLE", kinds: result.configurations.map(\.kind.rawValue), summaries: result.summaries,
                          weights: result.ensemble.weights, scoreName: "log-prob", sign: 1)
            } else {
                let result = try NeuralPosteriorEstimation.train(configurations: configurations, data: data,
                                                                 settings: run.training, seed: run.seed, progress: progress)
                try PosteriorArchive.write(npe: result, prior: run.prior, experiment: experiment,
                                           experimentConfig: ["source": run.source], to: run.outputDirectory)
                summarise("NPE", kinds: result.configurations.map(\.kind.rawValue), summaries: result.summaries,
                          weights: result.ensemble.weights, scoreName: "log-prob", sign: 1)
            }
        case .nre:
            var configurations: [ClassifierConfiguration] = []
            for entry in run.estimators {
                let c = try ClassifierOptions.configuration(for: entry, parameterCount: data.theta.cols, dataCount: data.x.cols)
                configurations += Array(repeating: c, count: entry.repeats)
            }
            if run.ratio.variant == .b && configurations.count > 1 {
                throw ConfigError(.invalidValue, source: run.source, keyPath: "inference.estimators",
                                  "\(configurations.count) members with NRE-B: its classifiers learn the ratio only up to a function of x each, so they cannot be mixed; use one estimator (repeats: 1), or variant a, c or bnre for an ensemble")
            }
            if run.training.batchSize < 2 {
                throw ConfigError(.invalidValue, source: run.source, keyPath: "train.batch_size",
                                  "NRE contrasts each row with other rows of its batch; batch_size must be at least 2")
            }
            let result = try NeuralRatioEstimation.train(configurations: configurations, data: data, ratio: run.ratio,
                                                         settings: run.training, seed: run.seed, progress: progress)
            try PosteriorArchive.write(nre: result, sampler: run.sampler, prior: run.prior, experiment: experiment,
                                       experimentConfig: ["source": run.source], to: run.outputDirectory)
            summarise("NRE-\(run.ratio.variant.rawValue.uppercased())",
                      kinds: result.configurations.map { $0.architecture == .residual ? "resnet" : "mlp" },
                      summaries: result.summaries, weights: result.ensemble.weights, scoreName: "loss", sign: -1)
        }
        lines.append("posterior written to \(run.outputDirectory)")
        return lines.joined(separator: "\n")
    }
}
