import ArgumentParser
import Foundation
import ILIFleet
import ILIInference
import ILIRounds
import ILITensor

/// `ili simulate`: a simulator worker of the fleet, or simulations written to files.
struct Simulate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Simulate: serve a coordinator as a simulator worker, or write θ and x files.",
        discussion: """
            As a worker (--connect): takes θ batches from the coordinator of `ili run --bind`, \
            simulates them with a built-in simulator (--simulator) or any program with the exec \
            contract of `ili run` (--exec: θ as .npy on standard input, x as .npy on standard \
            output), and sends the results back. It heartbeats, reconnects with backoff when the \
            coordinator goes away, reports simulations that fail one by one (never fatal), and \
            exits 0 when the coordinator ends the experiment. tcp endpoints need CURVE keys \
            (--key, --server-key; see `ili keys generate`).

              ili simulate --connect tcp://coordinator:5555 --simulator two_moons --key w.key --server-key c.pub
              ili simulate --connect ipc:///tmp/ili.sock --exec 'python3 simulate.py'

            To files (no --connect): draws --count θ from the simulator's usual prior (or the \
            `prior` of --prior CONFIG.yaml), simulates them, and writes OUT/theta.npy and \
            OUT/x.npy (float32, one row per simulation), ready for `ili train`:

              ili simulate --simulator two_moons --count 10000 --out data --seed 1
            """
    )

    @Option(help: ArgumentHelp("The coordinator's endpoint (tcp://HOST:PORT, ipc://PATH).", valueName: "endpoint"))
    var connect: String?
    @Option(help: "A built-in simulator: \(BuiltInSimulator.names.joined(separator: ", ")).") var simulator: String?
    @Option(help: "gaussian_linear's dimension (default 10).") var dimension: Int?
    @Option(help: ArgumentHelp("Any program with the exec contract, run by /bin/sh in this directory.", valueName: "command"))
    var exec: String?
    @Option(help: "Programs run at once on one batch's parts (--exec).") var processes = 1
    @Option(help: "Seconds one program run may take before it is killed (--exec).") var timeout = 600.0
    @Option(help: "Task batches this worker holds at once (one simulating, the rest waiting).") var credit = 2
    @Option(help: "This worker's name in the coordinator's log (default: simulate@HOST:PID).") var name: String?
    @OptionGroup(title: "CURVE") var security: WorkerSecurityOptions

    @Option(help: "Simulations to write (file mode).") var count: Int?
    @Option(help: ArgumentHelp("The directory for theta.npy and x.npy (file mode).", valueName: "dir")) var out: String?
    @Option(help: "The seed of θ draws and simulator noise (file mode).") var seed: UInt64 = 1
    @Option(help: ArgumentHelp("A YAML file whose `prior` key replaces the simulator's usual prior (file mode).", valueName: "config.yaml"))
    var prior: String?
    @Flag(name: .shortAndLong, help: "No log lines.") var quiet = false

    func validate() throws {
        if connect != nil {
            guard (simulator == nil) != (exec == nil) else { throw ValidationError("give one of --simulator NAME or --exec 'COMMAND'") }
            guard count == nil, out == nil, prior == nil else { throw ValidationError("--count, --out and --prior are for file mode, without --connect") }
            guard credit >= 1, processes >= 1, timeout > 0 else { throw ValidationError("--credit, --processes and --timeout must be positive") }
        } else {
            guard simulator != nil, exec == nil else {
                throw ValidationError("without --connect, ili simulate writes files: give --simulator NAME --count N --out DIR (--exec needs --connect)")
            }
            guard let count, count >= 1 else { throw ValidationError("give --count N (at least 1) simulations to write") }
            guard out != nil else { throw ValidationError("give --out DIR for theta.npy and x.npy") }
        }
        if let simulator, BuiltInSimulator.named(simulator) == nil {
            throw ValidationError("unknown simulator '\(simulator)': the built-in ones are \(BuiltInSimulator.names.joined(separator: ", "))")
        }
    }

    func run() throws {
        signal(SIGPIPE, SIG_IGN)
        if let connect { try serve(connect) } else { try writeFiles() }
    }

    func serve(_ endpoint: String) throws {
        let simulate: SimulatorWorker.Simulate
        var capabilities = ["host": ProcessInfo.processInfo.hostName]
        if let simulator {
            simulate = SimulatorWorker.builtIn(BuiltInSimulator.named(simulator, dimension: dimension)!)
            capabilities["simulator"] = simulator
        } else {
            let settings = ExecSimulationBackend.Settings(command: exec!, directory: URL(fileURLWithPath: FileManager.default.currentDirectoryPath),
                                                          workers: processes, batchSize: 1_000_000, timeout: timeout)
            simulate = SimulatorWorker.exec(settings)
            capabilities["exec"] = exec!
        }
        let name = self.name ?? "simulate@\(ProcessInfo.processInfo.hostName):\(getpid())"
        let quiet = quiet
        let log: @Sendable (String) -> Void = { line in if !quiet { FileHandle.standardError.write(Data("[\(name)] \(line)\n".utf8)) } }
        let worker = SimulatorWorker(connect: try security.connector(endpoint), name: name, credit: credit, capabilities: capabilities,
                                     events: { log(describe($0)) }, simulate: simulate)
        let stop = StopSignal()
        let signals = WorkerSignals(stop: stop, log: log)
        defer { signals.cancel() }
        log("connecting to \(endpoint)")
        if let reason = worker.run(shouldStop: { stop.requested }) {
            log("done after \(worker.simulated) simulations: \(reason)")
        } else {
            log("stopped after \(worker.simulated) simulations (\(stop.why ?? "stop"))")
        }
    }

    func writeFiles() throws {
        let builtIn = BuiltInSimulator.named(simulator!, dimension: dimension)!
        var specification = builtIn.defaultPrior
        if let prior {
            let root = try ConfigNode.load(path: prior)
            guard let node = try root.mapping().optional("prior") else { throw root.error(.missingKey, "missing key 'prior'") }
            specification = try PriorSpecification.parse(node)
        }
        let distribution = try specification.makePrior(source: prior ?? "\(builtIn.name)'s prior")
        guard distribution.dimension == builtIn.simulator.thetaDimension else {
            throw ValidationError("the prior in \(prior ?? "") has \(distribution.dimension) parameters; \(builtIn.name) takes \(builtIn.simulator.thetaDimension)")
        }
        var rng = RandomSource(seed: seed)
        let theta = distribution.sample(count!, rng: &rng)
        let seeds = (0..<count!).map { _ in rng.next() }
        let x = builtIn.simulate(theta, seeds: seeds)
        try FileManager.default.createDirectory(atPath: out!, withIntermediateDirectories: true)
        let thetaPath = (out! as NSString).appendingPathComponent("theta.npy"), xPath = (out! as NSString).appendingPathComponent("x.npy")
        try NPYFile.write(theta.converted(to: Float.self), to: thetaPath)
        try NPYFile.write(x.converted(to: Float.self), to: xPath)
        print("wrote \(count!) simulations of \(builtIn.name): \(thetaPath) (\(count!) × \(theta.cols)), \(xPath) (\(count!) × \(x.cols))")
    }
}

/// SIGINT and SIGTERM stop a worker at its next safe point; a second one quits at once.
final class WorkerSignals: @unchecked Sendable {
    private var sources: [DispatchSourceSignal] = []

    init(stop: StopSignal, log: @escaping @Sendable (String) -> Void) {
        for (number, name) in [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM")] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: DispatchQueue.global())
            source.setEventHandler {
                if stop.requested { exit(130) }
                stop.request("\(name) received")
                log("\(name): stopping (again to quit at once)")
            }
            source.resume()
            sources.append(source)
        }
    }

    func cancel() { for source in sources { source.cancel() } }
}
