import ArgumentParser
import Foundation
import ILIFleet
import ILIInference
import ILIRegistry
import ILIRounds

/// `ili train-worker`: trains the fleet's training jobs.
struct TrainWorker: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-worker",
        abstract: "Claim training jobs from the registry, train them and register the model versions.",
        discussion: """
            A trainer worker of the fleet. It claims training jobs (one ensemble member each) \
            from the registry, reads the round's training simulations from the registry, trains \
            the member exactly as `ili run` would in-process, and stores the model version with \
            its job in one transaction. With --connect it also joins the coordinator of \
            `ili run --bind`, which tells it when a round's jobs are waiting and when the \
            experiment is over (then it exits 0); without, it polls the registry until stopped.

            A job whose trainer died (its heartbeat older than --stale-after seconds) is taken \
            over by the next trainer that asks. SIGINT or SIGTERM stops at the next epoch; the \
            job it held is then taken over by another trainer once its heartbeat is stale.

              ili train-worker --connect tcp://coordinator:5555 --registry postgresql://ili@db/ili --key t.key --server-key c.pub
            """
    )

    @Option(help: ArgumentHelp("The coordinator's endpoint (tcp://HOST:PORT, ipc://PATH).", valueName: "endpoint"))
    var connect: String?
    @Option(help: ArgumentHelp("The registry URL (default: ILI_REGISTRY).", valueName: "url")) var registry: String?
    @Option(help: "Seconds without a heartbeat after which another trainer's job is taken over.") var staleAfter = 120.0
    @Option(help: "Seconds between heartbeats of the job being trained.") var heartbeat = 5.0
    @Option(help: "Seconds between registry polls when nothing is offered.") var poll = 2.0
    @Option(help: "This worker's name, also its claimer id in the registry (default: train-worker@HOST:PID).") var name: String?
    @OptionGroup(title: "CURVE") var security: WorkerSecurityOptions
    @Flag(name: .shortAndLong, help: "No log lines.") var quiet = false

    func run() throws {
        signal(SIGPIPE, SIG_IGN)
        guard let url = registry ?? ProcessInfo.processInfo.environment["ILI_REGISTRY"] else {
            throw ValidationError("give --registry URL (or set ILI_REGISTRY): the registry the coordinator uses")
        }
        guard staleAfter > 0, heartbeat > 0, poll > 0, heartbeat < staleAfter else {
            throw ValidationError("--stale-after, --heartbeat and --poll must be positive, and heartbeats more frequent than --stale-after")
        }
        let name = self.name ?? "train-worker@\(ProcessInfo.processInfo.hostName):\(getpid())"
        let quiet = quiet
        let log: @Sendable (String) -> Void = { line in if !quiet { FileHandle.standardError.write(Data("[\(name)] \(line)\n".utf8)) } }
        var settings = TrainerWorker.Settings()
        settings.staleAfter = staleAfter
        settings.heartbeatInterval = heartbeat
        settings.pollInterval = poll
        let worker = TrainerWorker(connect: try connect.map { try security.connector($0) }, registry: try Registry(url: url), name: name,
                                   settings: settings, observer: EpochLog(log: log), events: { log(describe($0)) })
        let stop = StopSignal()
        let signals = WorkerSignals(stop: stop, log: log)
        defer { signals.cancel() }
        log("claiming training jobs from \((try? RegistryURL(url))?.redacted ?? "the registry")\(connect.map { " for the coordinator at \($0)" } ?? "")")
        if let reason = try worker.run(stop: stop) {
            log("done after \(worker.trained) job(s): \(reason)")
        } else {
            log("stopped after \(worker.trained) job(s) (\(stop.why ?? "stop"))")
        }
    }
}

/// One line per member every 10 epochs and at its end.
final class EpochLog: TrainingObserver, @unchecked Sendable {
    let log: @Sendable (String) -> Void
    init(log: @escaping @Sendable (String) -> Void) { self.log = log }

    func epochFinished(member: Int, label: String, _ report: EpochReport) throws {
        if report.epoch % 10 == 0 { log("\(label): epoch \(report.epoch), validation \(String(format: "%.4f", report.validationScore))") }
    }

    func memberFinished(member: Int, label: String, _ summary: TrainingSummary) {
        log("\(label): trained, best validation \(String(format: "%.4f", summary.bestValidationScore))")
    }
}
