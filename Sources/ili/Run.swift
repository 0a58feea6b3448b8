import ArgumentParser
import Dispatch
import Foundation
import ILIInference
import ILIRegistry
import ILIRounds
import ILIValidation

/// `ili run CONFIG.yaml`: an experiment end to end, recorded in the registry.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run an experiment: simulate, train, validate and register, round after round.",
        discussion: """
            CONFIG names the simulator (a built-in one, or any program that reads a θ batch as \
            .npy on standard input and writes the x batch as .npy on standard output), the prior, \
            the inference method and its estimators, and the rounds: amortized (θ from the \
            prior), sequential or active (θ where the current posterior at the observation puts \
            its mass). Each round simulates its training set and a held-out test set, trains one \
            job per ensemble member, registers the posterior, validates it and marks it \
            calibrated only when every check passes. Every key is in schemas/config.md.

            Everything is recorded in the registry (default: a SQLite file in the output \
            folder). Run the same command again after an interruption, a crash or SIGKILL and \
            the experiment continues where the registry says it stands: finished rounds are not \
            redone and committed simulations are not simulated again. Ctrl-C (SIGINT) or SIGTERM \
            stops at the next safe point with everything finished committed (a second Ctrl-C \
            quits at once).

            With --bind ENDPOINT the same loop serves the fleet: simulator workers (`ili simulate \
            --connect`, or the Python client in ops/python) take θ batches and stream results \
            back, trainer workers (`ili train-worker`) claim the training jobs, and every pair is \
            committed to the registry before it is acknowledged. tcp endpoints need CURVE keys \
            (--key, --allowed-keys; see `ili keys generate`). --local-workers N adds simulator \
            threads in this process (0 for none); training runs here when no trainer is connected.

            Each round's posterior directory, validation.json and plots go to OUT/round-N. \
            Sample the newest calibrated posterior with:
              ili sample --registry URL --experiment NAME --latest-calibrated --obs x.npy --out s.npy

            Example configuration:

              experiment: two-moons
              simulator: two_moons
              inference:
                method: npe
                estimators: [{model: maf}, {model: nsf}]
              rounds: {strategy: sequential, count: 4, simulations_per_round: 1000}
              observation: xo.npy
              seed: 1
            """
    )

    @Argument(help: "The experiment configuration (YAML).") var config: String
    @Option(help: ArgumentHelp("The registry URL, instead of the configuration's `registry`.", valueName: "url"))
    var registry: String?
    @Flag(name: .shortAndLong, help: "No progress display, only the final summary.") var quiet = false
    @OptionGroup(title: "Fleet (ZeroMQ workers)") var fleet: RunFleetOptions

    func run() throws {
        signal(SIGPIPE, SIG_IGN)
        var configuration = try ExperimentConfiguration.load(path: config)
        if let registry { configuration.registry = registry }
        let display = TerminalDisplay(quiet: quiet)
        let stop = StopSignal()
        let signals = StopOnSignals(stop: stop, display: display)
        defer { signals.cancel() }
        let observer = RunDisplay(display: display, method: configuration.inference.method)
        let setup = fleet.enabled ? try FleetSetup(fleet, configuration: configuration, display: display) : nil
        let summary: ExperimentRunner.Summary
        do {
            let runner = try ExperimentRunner.prepare(configuration, observer: observer, stop: stop,
                                                      simulation: setup?.simulation, training: setup?.training)
            summary = try runner.run()
        } catch {
            setup?.finish(reason: "the coordinator stopped: \(error)", workersExit: false)
            throw error
        }
        setup?.finish(reason: summary.stoppedBecause ?? "experiment \(summary.experiment) is complete",
                      workersExit: summary.stoppedBecause == nil)
        display.finish()
        print(Self.render(summary, configuration: configuration))
    }

    static func render(_ s: ExperimentRunner.Summary, configuration: ExperimentConfiguration) -> String {
        var lines: [String] = []
        if let why = s.stoppedBecause {
            lines.append("stopped (\(why)) after \(s.roundsDone) of \(s.roundsWanted) rounds; everything finished is committed.")
            lines.append("resume with: ili run \(configuration.source)")
        } else {
            lines.append("experiment \(s.experiment): \(s.roundsDone) of \(s.roundsWanted) rounds done")
        }
        lines.append("registry: \(s.registry)")
        lines.append(String(format: "time in the registry: %.2f s of %.1f s (%.1f%%)", s.registrySeconds, s.seconds,
                            100 * s.registrySeconds / max(s.seconds, 1e-9)))
        if let id = s.latestPosterior, let directory = s.latestDirectory {
            let verdict = s.latestCalibrated.map { $0 ? "calibrated" : "NOT calibrated (see its validation.json)" } ?? "not validated"
            lines.append("latest posterior: posterior-\(id), \(verdict)")
            let contents = s.latestCalibrated == nil ? "posterior.json, members/" : "posterior.json, members/, validation.json, plots"
            lines.append("  directory: \(directory) (\(contents))")
            if configuration.observation != nil {
                lines.append("  samples at the observation: \(directory)/samples_xo.npy, plot \(directory)/corner_xo.svg")
            }
        }
        if let calibrated = s.latestCalibratedPosterior {
            lines.append("latest calibrated posterior: posterior-\(calibrated) (ili sample --registry '\(s.registry)' --experiment \(s.experiment) --latest-calibrated …)")
        } else if s.latestCalibrated != nil {
            lines.append("no posterior of this experiment is calibrated yet")
        } else if s.latestPosterior != nil {
            lines.append("no posterior of this experiment is calibrated (the latest was not validated: validation simulations are 0)")
        }
        return lines.joined(separator: "\n")
    }
}

/// Turns SIGINT and SIGTERM into a stop request; a second one quits at once.
final class StopOnSignals: @unchecked Sendable {
    private var sources: [DispatchSourceSignal] = []

    init(stop: StopSignal, display: TerminalDisplay) {
        for (number, name) in [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM")] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: DispatchQueue.global())
            source.setEventHandler {
                if stop.requested {
                    FileHandle.standardError.write(Data("\n\(name) again: quitting at once; run the same command to resume\n".utf8))
                    exit(130)
                }
                stop.request("\(name) received")
                display.note("\(name): stopping at the next safe point with everything finished committed (again to quit at once)")
            }
            source.resume()
            sources.append(source)
        }
    }

    func cancel() {
        for source in sources { source.cancel() }
    }
}

/// `ili run`'s progress: notes for each step, live lines for simulation and training.
final class RunDisplay: RunObserver, @unchecked Sendable {
    let display: TerminalDisplay
    let training: TrainingDisplay

    init(display: TerminalDisplay, method: InferenceMethod) {
        self.display = display
        training = TrainingDisplay(display: display, method: method)
    }

    func runStarted(experiment: String, registry: String, simulator: String, resumed: Bool, rounds: [Round]) {
        let done = rounds.filter { $0.status == .done }.count
        display.note(resumed
            ? "resuming experiment \(experiment) (\(done) round(s) done, \(rounds.count) in all) in \(registry); simulator: \(simulator)"
            : "experiment \(experiment) created in \(registry); simulator: \(simulator)")
    }

    func roundStarted(_ round: Round, position: Int, count: Int, proposal: ProposalDescription) {
        let from: String
        switch proposal {
        case .prior: from = "the prior"
        case .truncatedPrior(let p, let q): from = "the prior truncated to posterior-\(p)'s highest-density region (quantile \(q))"
        case .posterior(let p): from = "posterior-\(p) at the observation"
        case .active(let p, let c): from = "posterior-\(p), keeping 1 in \(c) candidates where the members disagree most"
        }
        display.note("round \(round.index) (\(position + 1) of \(count), \(round.status.rawValue)): \(round.targetCount) simulations from \(from)")
    }

    func simulationProgress(round: Int, purpose: SimulationPurpose, valid: Int, failed: Int, target: Int, perSecond: Double) {
        let what = purpose == .training ? "training" : "test"
        display.update("simulation", String(format: "[round %d] simulating %@ set: %d/%d valid, %d failed, %.0f/s",
                                            round, what, valid, target, failed, perSecond), plain: valid >= target)
        if valid >= target { display.remove("simulation") }
    }

    func phaseStarted(round: Int, phase: RoundStatus) {
        if phase != .simulating { display.note("round \(round): \(phase.rawValue)") }
    }

    func validated(round: Int, posterior: PosteriorID, verdict: CalibrationVerdict) {
        display.note(verdict.rendered.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
    }

    func roundFinished(round: Int, posterior: PosteriorID, calibrated: Bool?, directory: String, seconds: Double) {
        let verdict = calibrated.map { $0 ? "calibrated" : "NOT calibrated" } ?? "not validated"
        display.note(String(format: "round %d done in %.1f s: posterior-%lld %@ → %@", round, seconds, posterior.rawValue, verdict, directory))
    }

    func note(_ message: String) { display.note(message) }

    func trainingStarted(members: [String], trainingCount: Int, validationCount: Int, droppedRows: Int) {
        training.trainingStarted(members: members, trainingCount: trainingCount, validationCount: validationCount, droppedRows: droppedRows)
    }

    func epochFinished(member: Int, label: String, _ report: EpochReport) throws {
        try training.epochFinished(member: member, label: label, report)
    }

    func memberFinished(member: Int, label: String, _ summary: TrainingSummary) {
        training.memberFinished(member: member, label: label, summary)
    }
}
