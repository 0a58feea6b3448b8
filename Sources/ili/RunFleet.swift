import ArgumentParser
import Foundation
import ILIFleet
import ILIInference
import ILIRegistry
import ILIRounds

/// `ili run --bind …`: the experiment loop serving the fleet.
struct RunFleetOptions: ParsableArguments {
    @Option(name: .customLong("bind"), help: ArgumentHelp("Serve simulator and trainer workers here (tcp://*:5555, ipc://PATH); repeatable.", valueName: "endpoint"))
    var endpoints: [String] = []
    @Option(help: "Simulator threads in this process, beside remote workers (with --bind).") var localWorkers = 1
    @Option(help: ArgumentHelp("The coordinator's key pair (the .key file of `ili keys generate`); needed for tcp.", valueName: "file"))
    var key: String?
    @Option(help: ArgumentHelp("The public keys of the workers allowed in, one per line (cat worker.pub >> FILE).", valueName: "file"))
    var allowedKeys: String?
    @Flag(help: "Serve tcp without CURVE (a trusted loopback test or benchmark only).") var insecure = false
    @Option(help: "θ rows per task message.") var batchSize = 100
    @Option(help: "Seconds a task batch may be out before another worker gets it.") var taskTimeout = 600.0
    @Option(help: "Seconds between heartbeats; a worker silent for 10 of them is taken for gone.") var heartbeat = 1.0
    @Option(help: ArgumentHelp("Hand out no task before this many simulator workers (local ones included) have joined, so that a fleet started together shares the first round.", valueName: "n"))
    var waitForSimulators = 1

    var enabled: Bool { !endpoints.isEmpty }
}

/// A started coordinator with the backends the experiment loop runs through.
final class FleetSetup {
    let coordinator: FleetCoordinator
    let simulation: FleetSimulationBackend
    let training: FleetTrainingBackend
    let statusTimer: DispatchSourceTimer
    var localWorkers: [Thread] = []
    let localStop = StopSignal()

    init(_ options: RunFleetOptions, configuration: ExperimentConfiguration, display: TerminalDisplay) throws {
        guard options.localWorkers >= 0 else { throw ValidationError("--local-workers must be 0 or more") }
        for (flag, value) in [("--batch-size", Double(options.batchSize)), ("--task-timeout", options.taskTimeout),
                              ("--heartbeat", options.heartbeat), ("--wait-for-simulators", Double(options.waitForSimulators))]
        where !(value > 0) {
            throw ValidationError("\(flag) must be positive, not \(String(format: "%g", value))")
        }
        var security: CurveServerSecurity?
        switch (options.key, options.allowedKeys) {
        case (nil, nil): break
        case (let key?, let allowed?):
            let reported = ReportedKeys()
            security = CurveServerSecurity(keys: try CurveKeyPair.load(secretFile: key), allowed: try AllowedKeys.load(allowed)) { key, address in
                // A refused worker retries every few hundred milliseconds: say so once per key.
                if reported.first(key) { display.note("refused a worker at \(address): its key \(key) is not in \(allowed)") }
            }
        default:
            throw ValidationError("--key and --allowed-keys go together: the coordinator's key pair and the workers it accepts")
        }
        // The experiment's shapes, as workers will be told them.
        let xCount = try Self.xWidth(configuration, runsSimulatorHere: options.localWorkers > 0)
        let prior = try configuration.prior.makePrior(source: configuration.source)
        let experiment = ExperimentInfo(name: configuration.name, thetaDim: prior.dimension, xShape: [xCount],
                                        prior: try ArchiveJSON.text(configuration.prior))
        let localEndpoint = "inproc://ili-local-workers"
        let transport = try ZeroMQServerTransport(endpoints: options.endpoints + [localEndpoint], curve: security, insecure: options.insecure)
        var settings = CoordinatorSettings()
        settings.batchSize = options.batchSize
        settings.taskTimeout = options.taskTimeout
        settings.heartbeatInterval = options.heartbeat
        settings.workerTimeout = 10 * options.heartbeat
        settings.simulatorsBeforeDispatch = options.waitForSimulators
        let observer = FleetDisplay(display: display)
        coordinator = FleetCoordinator(transport: transport, experiment: experiment, settings: settings, observer: observer)
        coordinator.start()
        let shown = transport.boundEndpoints.filter { $0 != localEndpoint }
        simulation = FleetSimulationBackend(coordinator: coordinator, endpoints: shown)
        if case .sqlite(let path) = try RegistryURL(configuration.registry) {
            try FileManager.default.createDirectory(at: URL(fileURLWithPath: path).deletingLastPathComponent(), withIntermediateDirectories: true)
        }
        training = FleetTrainingBackend(coordinator: coordinator, registry: try Registry(url: configuration.registry),
                                        worker: "ili-run@\(ProcessInfo.processInfo.hostName):\(getpid())")
        display.note("serving workers at \(shown.joined(separator: ", "))\(security == nil ? "" : " (CURVE)"); \(options.localWorkers) local simulator thread(s)"
                     + (options.waitForSimulators > 1 ? "; tasks wait for \(options.waitForSimulators) simulators to join" : ""))

        let simulate: SimulatorWorker.Simulate
        switch configuration.simulator {
        case .builtIn: simulate = SimulatorWorker.builtIn(configuration.simulator.builtIn!)
        case .exec(let exec): simulate = SimulatorWorker.exec(exec)
        }
        for k in 0..<options.localWorkers {
            let worker = SimulatorWorker(connect: { try ZeroMQClientTransport(endpoint: localEndpoint, curve: nil) },
                                         name: "local-\(k)@\(ProcessInfo.processInfo.hostName):\(getpid())", simulate: simulate)
            let stop = localStop
            let thread = Thread { _ = worker.run(shouldStop: { stop.requested }) }
            thread.name = "ili-local-simulator-\(k)"
            thread.start()
            localWorkers.append(thread)
        }

        // The status line: workers by kind, committed pairs per second, tasks in flight.
        statusTimer = DispatchSource.makeTimerSource(queue: DispatchQueue.global())
        let meter = RateMeter()
        let coordinator = self.coordinator
        let waitFor = options.waitForSimulators
        statusTimer.schedule(deadline: .now() + 1, repeating: 1)
        statusTimer.setEventHandler {
            let s = coordinator.status()
            let rate = meter.rate(total: s.committed)
            let workers = FleetWorkerKind.allCases.map { "\(s.workers[$0] ?? 0) \($0.rawValue)s" }.joined(separator: ", ")
            let rejected = s.counters.rejected.values.reduce(0, +)
            if s.simulatorsJoined < waitFor {
                display.update("fleet", "[fleet] \(workers) · waiting for \(waitFor) simulators to join before handing out tasks (\(s.simulatorsJoined) so far)", plain: false)
                return
            }
            display.update("fleet", String(format: "[fleet] %@ · %.0f pairs/s committed · %d tasks in flight, %d waiting · %d duplicates dropped, %d bad messages",
                                           workers, rate, s.inFlightTasks, max(0, s.outstandingTasks - s.inFlightTasks),
                                           s.counters.duplicatesDropped, rejected), plain: false)
        }
        statusTimer.resume()
    }

    /// x's width. With `--local-workers 0` an exec program may exist only where the workers
    /// are, so it is probed here only when neither the configuration's `x_width` nor, on
    /// resuming, the registry's experiment says the width; a failed probe then says so.
    static func xWidth(_ configuration: ExperimentConfiguration, runsSimulatorHere: Bool) throws -> Int {
        guard case .exec(let settings) = configuration.simulator, !runsSimulatorHere else {
            return try ExperimentRunner.makeSimulationBackend(configuration).xCount
        }
        if let stated = settings.xWidth { return stated }
        if let registry = try? Registry(url: configuration.registry) {
            defer { registry.close() }
            if let existing = try? registry.experiment(named: configuration.name) { return existing.xCount }
        }
        do {
            return try ExperimentRunner.makeSimulationBackend(configuration).xCount
        } catch {
            throw ConfigError(.invalidValue, source: configuration.source, keyPath: "simulator", """
                x's width is learned by running `\(settings.command)` once here, which failed: \(error)
                With --local-workers 0 the program need only exist where the workers are: give simulator.x_width (workers are told the shape)
                """)
        }
    }

    /// Stops serving; `workersExit` tells remote workers the experiment is over, otherwise
    /// they keep reconnecting until a restarted coordinator takes them back.
    func finish(reason: String, workersExit: Bool) {
        statusTimer.cancel()
        localStop.request(reason)
        coordinator.shutdown(reason: workersExit ? reason : nil)
        for thread in localWorkers { while !thread.isFinished { Thread.sleep(forTimeInterval: 0.01) } }
    }
}

/// Notes when workers join, leave or send something refused.
final class FleetDisplay: FleetObserver, @unchecked Sendable {
    let display: TerminalDisplay

    init(display: TerminalDisplay) { self.display = display }

    func workerJoined(_ worker: CoordinatorStateMachine.WorkerSummary) {
        let about = worker.capabilities.isEmpty ? "" : " (" + worker.capabilities.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + ")"
        display.note("\(worker.kind.rawValue) \(worker.name) joined\(about)")
    }

    func workerLeft(_ worker: CoordinatorStateMachine.WorkerSummary, reason: String) {
        display.note("\(worker.kind.rawValue) \(worker.name) left: \(reason)")
    }

    func rejected(peer: PeerID, worker: String?, error: FleetProtocolError) {
        display.note("refused a message from \(worker ?? "peer \(peer)"): \(error)")
    }

    func transportFailed(_ error: any Error) {
        display.note("the coordinator's transport failed: \(error)")
    }
}

/// Units per second since the last reading.
final class RateMeter: @unchecked Sendable {
    private let lock = NSLock()
    private var last = (time: Date(), total: 0)

    func rate(total: Int) -> Double {
        lock.withLock {
            let now = Date()
            defer { last = (now, total) }
            return Double(total - last.total) / max(now.timeIntervalSince(last.time), 1e-3)
        }
    }
}

/// The keys already reported as refused.
final class ReportedKeys: @unchecked Sendable {
    private let lock = NSLock()
    private var keys: Set<String> = []

    /// True the first time `key` is seen.
    func first(_ key: String) -> Bool { lock.withLock { keys.insert(key).inserted } }
}
