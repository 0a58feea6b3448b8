import ArgumentParser
import Foundation
import ILIFleet
import ILIRegistry
import ILIRounds

/// The fleet measurements behind Benchmarks/fleet/run.sh: pairs committed per second end
/// to end, task round-trip latency, a coordinator with hundreds of workers, and a registry
/// of millions of pairs. Each writes throwaway `bench-…` experiments: use a scratch database.
struct FleetBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fleet",
        abstract: "Fleet throughput, latency and scale (see Benchmarks/fleet/run.sh).",
        subcommands: [Throughput.self, Latency.self, Swarm.self, SwarmClients.self, RegistryScale.self, Worker.self]
    )

    /// θ 5 floats, x 10 floats, as the issue's benchmark asks.
    static let thetaDim = 5, xCount = 10

    /// A fresh experiment and its first round, simulating.
    static func openRound(_ registry: Registry, target: Int) throws -> Round {
        let name = "bench-\(UUID().uuidString.prefix(8).lowercased())"
        _ = try registry.createExperiment(ExperimentSpec(name: name, prior: #"{"bench": true}"#, thetaDimension: thetaDim, xShape: [xCount]))
        let round = try registry.openRound(experiment: name, strategy: "prior", targetCount: target)
        return try registry.advanceRound(id: round.id, to: .simulating)
    }

    static func tasks(_ count: Int, prefix: String) -> [SimulationTask] {
        (0..<count).map { (i: Int) -> SimulationTask in
            let theta: [Double] = (0..<thetaDim).map { (j: Int) -> Double in Double(Float(Double((i * 7 + j) % 1000) / 1000)) }
            return SimulationTask(taskId: "\(prefix)/\(i)", theta: theta, seed: UInt64(i))
        }
    }

    /// The commit the experiment loop makes: θ looked up by task id, one transaction per group.
    static func commit(_ registry: Registry, round: RoundID, theta: [String: [Float]], groups: Counter) -> ([SimulationOutcome]) throws -> Void {
        { outcomes in
            let records = outcomes.map { SimulationRecord(taskId: $0.taskId, theta: theta[$0.taskId]!, x: $0.x ?? [], valid: $0.x != nil, reason: $0.failure) }
            try registry.appendSimulations(round: round, records, worker: "bench")
            groups.add(outcomes.count)
        }
    }

    /// The coordinator, with CURVE keys written to `directory` for the workers when `curve`.
    static func startCoordinator(curve: Bool, directory: String, settings: CoordinatorSettings) throws -> (FleetCoordinator, String, [String]) {
        var security: CurveServerSecurity?
        var workerArguments = ["--insecure"]
        if curve {
            let server = try CurveKeyPair.generate(), worker = try CurveKeyPair.generate()
            try server.write(to: directory + "/coordinator")
            try worker.write(to: directory + "/worker")
            security = CurveServerSecurity(keys: server, allowed: AllowedKeys(keys: [worker.publicKey: "bench"]))
            workerArguments = ["--key", directory + "/worker.key", "--server-key", directory + "/coordinator.pub"]
        }
        let transport = try ZeroMQServerTransport(endpoints: ["tcp://127.0.0.1:0"], curve: security, insecure: !curve)
        let coordinator = FleetCoordinator(transport: transport, experiment: ExperimentInfo(name: "bench", thetaDim: thetaDim, xShape: [xCount], prior: nil),
                                           settings: settings)
        coordinator.start()
        return (coordinator, transport.boundEndpoints[0], workerArguments)
    }

    static func spawnWorkers(_ count: Int, endpoint: String, arguments: [String]) throws -> [Process] {
        try (0..<count).map { k in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0])
            process.arguments = ["fleet", "worker", "--connect", endpoint, "--name", "bench-\(k)"] + arguments
            try process.run()
            return process
        }
    }

    static func waitFor(_ coordinator: FleetCoordinator, simulators: Int) throws {
        for _ in 0..<600 {
            if (coordinator.status().workers[.simulator] ?? 0) >= simulators { return }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw ValidationError("only \(coordinator.status().workers[.simulator] ?? 0) of \(simulators) workers connected in 30 s")
    }

    static func scratch() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ili-fleet-bench-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    // MARK: Subcommands

    struct Throughput: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Pairs committed per second with worker processes over tcp loopback.")
        @Option var registry: String
        @Option var workers = 4
        @Option var pairs = 500_000
        @Option var batchSize = 100
        @Flag var curve = false

        func run() throws {
            let directory = try scratch()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let registry = try Registry(url: self.registry)
            var settings = CoordinatorSettings()
            settings.batchSize = batchSize
            let (coordinator, endpoint, arguments) = try startCoordinator(curve: curve, directory: directory, settings: settings)
            let processes = try spawnWorkers(workers, endpoint: endpoint, arguments: arguments)
            defer { for p in processes { p.terminate() } }
            try waitFor(coordinator, simulators: workers)
            let round = try openRound(registry, target: pairs)
            let tasks = FleetBench.tasks(pairs, prefix: "r\(round.id)")
            let theta = Dictionary(uniqueKeysWithValues: tasks.map { ($0.taskId, $0.theta.map(Float.init)) })
            let groups = Counter()
            let backend = FleetSimulationBackend(coordinator: coordinator, endpoints: [endpoint])
            let start = DispatchTime.now().uptimeNanoseconds
            try backend.run(tasks, commit: commit(registry, round: round.id, theta: theta, groups: groups), shouldStop: { false })
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            let stored = try registry.round(id: round.id).validSimulations
            coordinator.shutdown(reason: "benchmark over")
            printResult(["name": "fleet-throughput", "registry": registry.url.redacted.hasPrefix("sqlite") ? "sqlite" : "postgresql",
                         "curve": curve, "workers": workers, "pairs": stored, "seconds": seconds, "pairs_per_s": Double(stored) / seconds,
                         "transactions": groups.calls, "pairs_per_transaction": Double(groups.total) / Double(max(1, groups.calls))])
        }
    }

    struct Latency: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Round trip of one task batch (dispatch → result → commit) at low load.")
        @Option var registry: String
        @Option var tasks = 100
        @Option var repeats = 300
        @Flag var curve = false

        func run() throws {
            let directory = try scratch()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let registry = try Registry(url: self.registry)
            var settings = CoordinatorSettings()
            settings.batchSize = tasks
            let (coordinator, endpoint, arguments) = try startCoordinator(curve: curve, directory: directory, settings: settings)
            let processes = try spawnWorkers(1, endpoint: endpoint, arguments: arguments)
            defer { for p in processes { p.terminate() } }
            try waitFor(coordinator, simulators: 1)
            let round = try openRound(registry, target: tasks * repeats)
            let backend = FleetSimulationBackend(coordinator: coordinator, endpoints: [endpoint])
            var samples: [Double] = []
            for r in 0..<(repeats + 10) {
                let batch = FleetBench.tasks(tasks, prefix: "r\(round.id)/\(r)")
                let theta = Dictionary(uniqueKeysWithValues: batch.map { ($0.taskId, $0.theta.map(Float.init)) })
                let start = DispatchTime.now().uptimeNanoseconds
                try backend.run(batch, commit: commit(registry, round: round.id, theta: theta, groups: Counter()), shouldStop: { false })
                if r >= 10 { samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6) }   // 10 warm-up rounds
            }
            coordinator.shutdown(reason: "benchmark over")
            let sorted = samples.sorted()
            printResult(["name": "fleet-latency", "registry": registry.url.redacted.hasPrefix("sqlite") ? "sqlite" : "postgresql", "curve": curve,
                         "tasks_per_batch": tasks, "median_ms": median(samples), "p99_ms": sorted[min(sorted.count - 1, Int(Double(sorted.count) * 0.99))],
                         "max_ms": sorted.last ?? .nan])
        }
    }

    struct Swarm: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A coordinator with hundreds of connected workers: idle cost, dispatch rate, memory.")
        @Option var workers = 500
        @Option var idleSeconds = 10.0
        @Option var tasks = 500_000
        @Option var batchSize = 100

        func run() throws {
            let directory = try scratch()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            var settings = CoordinatorSettings()
            settings.batchSize = batchSize
            let baseline = residentMegabytes()
            let (coordinator, endpoint, _) = try startCoordinator(curve: false, directory: directory, settings: settings)
            let clients = Process()
            clients.executableURL = URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0])
            clients.arguments = ["fleet", "swarm-clients", "--connect", endpoint, "--workers", String(workers)]
            try clients.run()
            defer { clients.terminate() }
            let joinStart = DispatchTime.now().uptimeNanoseconds
            try waitFor(coordinator, simulators: workers)
            let joinSeconds = Double(DispatchTime.now().uptimeNanoseconds - joinStart) / 1e9
            // Idle: only heartbeats, both ways, every second.
            let cpu0 = cpuSeconds(), wall0 = DispatchTime.now().uptimeNanoseconds
            Thread.sleep(forTimeInterval: idleSeconds)
            let idleCPU = (cpuSeconds() - cpu0) / (Double(DispatchTime.now().uptimeNanoseconds - wall0) / 1e9)
            let connected = residentMegabytes()
            // Dispatch: clients answer at once; commits are counted, not stored, to time the coordinator alone.
            let backend = FleetSimulationBackend(coordinator: coordinator, endpoints: [endpoint])
            let all = FleetBench.tasks(tasks, prefix: "swarm")
            let counter = Counter()
            let cpu1 = cpuSeconds(), start = DispatchTime.now().uptimeNanoseconds
            try backend.run(all, commit: { counter.add($0.count) }, shouldStop: { false })
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            let dispatchCPU = cpuSeconds() - cpu1
            let lost = coordinator.status().counters.workersLost
            coordinator.shutdown(reason: nil)
            printResult(["name": "fleet-swarm", "workers": workers, "join_seconds": joinSeconds, "idle_cpu_fraction": idleCPU,
                         "rss_mb_before": baseline, "rss_mb_connected": connected, "kb_per_worker": (connected - baseline) * 1024 / Double(workers),
                         "tasks": counter.total, "dispatch_seconds": seconds, "tasks_per_s": Double(counter.total) / seconds,
                         "batches_per_s": Double(counter.total) / seconds / Double(batchSize), "dispatch_cpu_seconds": dispatchCPU,
                         "workers_lost": lost])
        }
    }

    /// Many lightweight workers in one process and one thread: hello, heartbeats, and an
    /// immediate result for every task.
    struct SwarmClients: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "swarm-clients", abstract: "Workers for `fleet swarm`.", shouldDisplay: false)
        @Option var connect: String
        @Option var workers = 500

        func run() throws {
            let clients = try (0..<workers).map { _ in try ZeroMQClientTransport(endpoint: connect, curve: nil, insecure: true) }
            var welcomed = [Bool](repeating: false, count: workers)
            var lastSent = [Double](repeating: -1e9, count: workers)
            var heartbeat = 1.0
            while true {
                var idle = true
                let now = FleetClock.monotonic()
                for (k, client) in clients.enumerated() {
                    if !welcomed[k] && now - lastSent[k] > 1 {
                        _ = try client.send(FleetCodec.encode(.hello(Hello(worker: "swarm-\(k)", kind: .simulator, credit: 2))))
                        lastSent[k] = now
                    }
                    while let frames = try client.receive(timeout: 0) {
                        idle = false
                        switch try FleetCodec.decode(frames) {
                        case .welcome(let w):
                            welcomed[k] = true
                            heartbeat = Double(w.heartbeatMs) / 1000
                        case .task(let t):
                            let x = [Float](repeating: 0.5, count: t.taskIds.count * t.xCount)
                            _ = try client.send(FleetCodec.encode(.result(ResultBatch(batch: t.batch, taskIds: t.taskIds, failures: t.taskIds.map { _ in nil },
                                                                                       x: FleetArray(float32: x, shape: [t.taskIds.count, t.xCount])))))
                            lastSent[k] = now
                        case .shutdown:
                            return
                        default:
                            break
                        }
                    }
                    if welcomed[k] && now - lastSent[k] >= heartbeat {
                        _ = try client.send(FleetCodec.encode(.heartbeat(Heartbeat())))
                        lastSent[k] = now
                    }
                }
                if idle { Thread.sleep(forTimeInterval: 0.001) }
            }
        }
    }

    struct RegistryScale: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "registry-scale", abstract: "A registry of millions of pairs: ingest, a trainer's read, a coordinator's resume.")
        @Option var registry: String
        @Option var pairs = 10_000_000
        @Option var rounds = 10
        @Option var batch = 10_000

        func run() throws {
            let registry = try Registry(url: self.registry)
            let first = try openRound(registry, target: pairs / rounds)
            let experiment = try registry.experiment(id: first.experimentId).name
            var round = first
            var ingest = 0.0
            let perRound = pairs / rounds
            for r in 0..<rounds {
                if r > 0 {
                    try registry.advanceRound(id: round.id, to: .training)
                    try registry.advanceRound(id: round.id, to: .validating)
                    try registry.advanceRound(id: round.id, to: .done)
                    round = try registry.advanceRound(id: try registry.openRound(experiment: experiment, strategy: "prior", targetCount: perRound).id, to: .simulating)
                }
                for start in stride(from: 0, to: perRound, by: batch) {
                    let records = (start..<min(start + batch, perRound)).map { (i: Int) -> SimulationRecord in
                        let theta: [Float] = (0..<thetaDim).map { (j: Int) -> Float in Float((i + j) % 100) / 100 }
                        let x: [Float] = (0..<xCount).map { (j: Int) -> Float in Float((i * 3 + j) % 100) / 100 }
                        return SimulationRecord(taskId: "\(experiment)/r\(r)/\(i)", theta: theta, x: x)
                    }
                    let t = DispatchTime.now().uptimeNanoseconds
                    try registry.appendSimulations(round: round.id, records, worker: "bench")
                    ingest += Double(DispatchTime.now().uptimeNanoseconds - t) / 1e9
                }
            }
            func timed<T>(_ body: () throws -> T) rethrows -> (T, Double) {
                let t = DispatchTime.now().uptimeNanoseconds
                let value = try body()
                return (value, Double(DispatchTime.now().uptimeNanoseconds - t) / 1e9)
            }
            let (lastRound, lastRoundSeconds) = try timed { try registry.trainingData(experiment: experiment, rounds: (rounds - 1)...(rounds - 1)) }
            let (all, allSeconds) = try timed { try registry.trainingData(experiment: experiment, rounds: 0...(rounds - 1)) }
            // What a restarted coordinator reads before it dispatches: the rounds, and the
            // numbers of the round's stored tasks (ExperimentRunner.simulate).
            let (ids, resumeSeconds) = try timed { () throws -> Int in
                _ = try registry.rounds(experiment: experiment)
                return try registry.storedTaskNumbers(round: round.id, prefix: "\(experiment)/r\(rounds - 1)/").count
            }
            printResult(["name": "fleet-registry-scale", "registry": registry.url.redacted.hasPrefix("sqlite") ? "sqlite" : "postgresql",
                         "pairs": pairs, "rounds": rounds, "ingest_pairs_per_s": Double(pairs) / ingest,
                         "read_one_round_pairs": lastRound.count, "read_one_round_seconds": lastRoundSeconds,
                         "read_all_rounds_pairs": all.count, "read_all_rounds_seconds": allSeconds,
                         "resume_task_ids": ids, "resume_seconds": resumeSeconds])
        }
    }

    /// A simulator worker process whose simulator costs nothing: x repeats θ twice.
    struct Worker: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A worker for the throughput and latency runs.", shouldDisplay: false)
        @Option var connect: String
        @Option var name = "bench"
        @Option var key: String?
        @Option var serverKey: String?
        @Flag var insecure = false

        func run() throws {
            let security: CurveClientSecurity? = try key.flatMap { key in
                try serverKey.map { CurveClientSecurity(keys: try CurveKeyPair.load(secretFile: key), serverKey: try CurveKeyPair.loadPublic($0)) }
            }
            let (endpoint, insecure) = (connect, insecure)
            let worker = SimulatorWorker(connect: { try ZeroMQClientTransport(endpoint: endpoint, curve: security, insecure: insecure) }, name: name) { tasks, xCount in
                tasks.map { task in .simulated(task.taskId, (0..<xCount).map { Float(task.theta[$0 % task.theta.count]) }) }
            }
            _ = worker.run(shouldStop: { false })
        }
    }
}

/// Outcomes and commit calls counted across threads.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0, callCount = 0
    func add(_ n: Int) { lock.withLock { count += n; callCount += 1 } }
    var total: Int { lock.withLock { count } }
    var calls: Int { lock.withLock { callCount } }
}

func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
}

/// This process's resident memory now (VmRSS), in megabytes.
func residentMegabytes() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
          let kb = Double(line.split(separator: " ").dropFirst().first ?? "") else { return .nan }
    return kb / 1024
}
