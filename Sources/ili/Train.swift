import ArgumentParser
import Foundation
import ILIInference
import ILIRegistry
import ILIRounds
import ILIValidation

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

            Before training, the data are checked: θ rows outside the prior's support are \
            counted (and refused when they are most rows), a small dataset is warned about, and \
            `out` must be writable and new or empty; --overwrite replaces a posterior already \
            there (with its validation results and plots).

            With --registry URL the posterior is also recorded there, as a new round (strategy \
            `files`) of --experiment (default: the name of `out`): the simulations it trained on, \
            one training job and model version per member, and the posterior, whose registry ids \
            are written into the posterior directory. `ili validate --registry` then records its \
            verdict.

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
    @Flag(help: "Replace a posterior already in `out` (and its validation results and plots).") var overwrite = false
    @Option(help: ArgumentHelp("Also record the posterior in this registry (postgresql://… or sqlite:PATH).", valueName: "url"))
    var registry: String?
    @Option(help: ArgumentHelp("The experiment to record it under (default: the name of `out`).", valueName: "name"))
    var experiment: String?

    func validate() throws {
        if experiment != nil && registry == nil { throw ValidationError("--experiment names where --registry records; give --registry URL too") }
    }

    func run() throws {
        let run = try TrainConfiguration.load(path: config)
        // Open the registry first: an unreachable one is found before any training.
        let registry = try self.registry.map { try Registry(url: $0, createFolders: true) }
        defer { registry?.close() }
        let display = TerminalDisplay(quiet: quiet)
        let (data, warnings) = try FileTrainer.prepare(run, replacing: overwrite)
        for warning in warnings { FileHandle.standardError.write(Data("warning: \(warning)\n".utf8)) }
        let outcome = try FileTrainer.train(run, data: data, replacing: overwrite,
                                            observer: TrainingDisplay(display: display, method: run.method))
        display.finish()
        let method = switch run.method {
        case .nre: "NRE-\(run.inference.ratio.variant.rawValue.uppercased())"
        case .npe where run.inference.posteriorLoss.isBalanced: "BNPE"
        default: run.method.displayName
        }
        print("trained \(outcome.members.count) \(method) member(s) on \(outcome.simulations) simulations"
              + (outcome.droppedRows > 0 ? " (\(outcome.droppedRows) dropped: NaN or infinite)" : ""))
        let (scoreName, sign) = run.method == .nre ? ("loss", -1.0) : ("log-prob", 1.0)
        for (k, member) in outcome.members.enumerated() {
            let s = member.summary
            print(String(format: "  member %d (%@): %d epochs%@, best validation %@ %.4f, weight %.3f, %.1f s",
                         k, member.job.estimator.kindName, s.epochs, s.stoppedBecause == "max-epochs" ? " (max_epochs)" : "",
                         scoreName, sign * s.bestValidationScore, outcome.weights[k], s.seconds))
        }
        if let records = outcome.search { printSearch(records, scoreName: scoreName, sign: sign) }
        print("posterior written to \(outcome.directory)")
        if let registry {
            let name = experiment ?? URL(fileURLWithPath: run.outputDirectory).lastPathComponent
            let posterior = try FileTrainingRecording.record(outcome, data: data, configuration: run, experiment: name, registry: registry)
            // The directory now is that registered posterior: rewrite it with the registry's ids.
            try RegistryArchives.archive(registry, id: posterior.id).write(to: outcome.directory, replacing: true)
            print("recorded as posterior-\(posterior.id) of experiment \(name) in \(registry.url.redacted)")
        }
        if let records = outcome.search {
            // After the registry's rewrite of the directory, which knows only the posterior's files.
            try SearchPlot.writeFiles(records, method: run.method, toDirectory: outcome.directory)
        }
    }

    /// The search's trials, best final score first: what each tried, how far it trained and
    /// whether it is in the ensemble.
    func printSearch(_ records: [HyperparameterSearch.TrialRecord], scoreName: String, sign: Double) {
        print("search: \(records.count) trials, \(records.filter { $0.member != nil }.count) kept (\(FileTrainer.searchFileName) lists them, \(SearchPlot.fileName) plots them)")
        let order = records.sorted { $0.finalScore != $1.finalScore ? $0.finalScore > $1.finalScore : $0.index < $1.index }
        for r in order {
            let fate = r.member.map { "member \($0)" } ?? r.stoppedAfterRung.map { "stopped after rung \($0)" } ?? "not kept"
            print(String(format: "  trial %2d  %@ %.4f  %4d epochs  %6.1f s  %@   %@", r.index, scoreName, sign * r.finalScore, r.epochs,
                         r.seconds, fate, r.choices.map { "\($0.key)=\($0.value)" }.joined(separator: " ")))
        }
    }
}
