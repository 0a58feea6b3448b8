import ArgumentParser
import Foundation
import ILIInference

/// `ili train CONFIG.yaml`: learns a posterior from simulation files.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a posterior from θ and x files described by a YAML configuration.",
        discussion: """
            Reads the prior, the simulation files (θ and x as .npy, one row per simulation), \
            the inference method and its estimators from CONFIG, trains every ensemble member \
            (up to ILI_THREADS at once, default every core), and writes a posterior directory to \
            the configuration's `out` (relative to the configuration file). Rows with NaN or \
            infinite values are dropped and counted. Every key is documented in schemas/config.md.

            Example configuration:

              prior:
                uniform: {low: [-1, -1], high: [1, 1]}
              data: {theta: theta.npy, x: x.npy}
              inference:
                method: npe
                estimators:
                  - {model: maf, hidden_features: 50, num_transforms: 5}
                  - {model: nsf, num_bins: 10, repeats: 2}
              train: {batch_size: 200, learning_rate: 0.0005, stop_after_epochs: 20}
              seed: 1
              out: runs/two-moons
            """
    )

    @Argument(help: "The run configuration (YAML).") var config: String
    @Flag(name: .shortAndLong, help: "No progress lines, only the final summary.") var quiet = false

    func run() throws {
        let run = try RunConfiguration.load(path: config)
        let summary = try RunTrainer.train(run, progress: TrainingProgress(quiet: quiet))
        print(summary)
    }
}
