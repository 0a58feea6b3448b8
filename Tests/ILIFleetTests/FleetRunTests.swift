@testable import ILIFleet
import ILIRegistry
import ILIRounds
import XCTest

/// The experiment loop served by the fleet over the in-memory transport: simulator
/// workers, a trainer worker and a producer on threads, the registry in SQLite.
final class FleetRunTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("ili-fleet-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func configuration(rounds: Int = 2, perRound: Int = 300) throws -> ExperimentConfiguration {
        let yaml = """
            experiment: fleet-test
            simulator: two_moons
            inference:
              method: npe
              estimators: [{model: maf, hidden_features: 8, num_transforms: 2}, {model: mdn, hidden_features: 8, num_components: 2}]
            rounds: {strategy: amortized, count: \(rounds), simulations_per_round: \(perRound)}
            train: {max_epochs: 3, batch_size: 100}
            validation: {simulations: 30, samples: 50}
            seed: 5
            """
        let path = directory.appendingPathComponent("fleet.yaml").path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        let configuration = try ExperimentConfiguration.load(path: path)
        try FileManager.default.createDirectory(atPath: configuration.outputDirectory, withIntermediateDirectories: true)
        return configuration
    }

    /// A running coordinator and the workers' threads.
    final class Fleet: @unchecked Sendable {
        let network = MemoryNetwork()
        let coordinator: FleetCoordinator
        let lock = NSLock()
        var peers: [String: [PeerID]] = [:]
        var threads: [Thread] = []
        let finished = DispatchGroup()
        let stop = StopSignal()

        init(_ configuration: ExperimentConfiguration, settings: CoordinatorSettings) throws {
            let prior = try configuration.prior.makePrior(source: configuration.source)
            coordinator = FleetCoordinator(transport: network.bind(),
                                           experiment: ExperimentInfo(name: configuration.name, thetaDim: prior.dimension, xShape: [2], prior: nil),
                                           settings: settings)
            coordinator.start()
        }

        func connector(_ name: String) -> @Sendable () throws -> any FleetClientTransport {
            { [self] in
                let client = network.connect()
                lock.withLock { peers[name, default: []].append(client.peer) }
                return client
            }
        }

        func spawn(_ body: @escaping @Sendable () -> Void) {
            finished.enter()
            Thread.detachNewThread { [finished] in
                body()
                finished.leave()
            }
        }

        func simulator(_ name: String, settings: WorkerSettings = WorkerSettings(), simulate: SimulatorWorker.Simulate? = nil) {
            let worker = SimulatorWorker(connect: connector(name), name: name, settings: settings,
                                         simulate: simulate ?? SimulatorWorker.builtIn(BuiltInSimulator.named("two_moons")!))
            spawn { [stop] in _ = worker.run(shouldStop: { stop.requested }) }
        }

        func end() {
            coordinator.shutdown(reason: "test over")
            stop.request("test over")
            XCTAssertEqual(finished.wait(timeout: .now() + 60), .success, "workers stop")
        }
    }

    func runExperiment(_ configuration: ExperimentConfiguration, _ fleet: Fleet) throws -> ExperimentRunner.Summary {
        try FileManager.default.createDirectory(atPath: configuration.outputDirectory, withIntermediateDirectories: true)
        let training = FleetTrainingBackend(coordinator: fleet.coordinator, registry: try Registry(url: configuration.registry), worker: "coordinator")
        let runner = try ExperimentRunner.prepare(configuration, simulation: FleetSimulationBackend(coordinator: fleet.coordinator, endpoints: ["memory"]),
                                                  training: training)
        return try runner.run()
    }

    /// Every round holds exactly its target of training simulations and its test set, each task once.
    func assertEveryTaskOnce(_ configuration: ExperimentConfiguration, rounds: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let registry = try Registry(url: configuration.registry)
        let stored = try registry.rounds(experiment: configuration.name)
        XCTAssertEqual(stored.map(\.status), Array(repeating: .done, count: rounds), file: file, line: line)
        for round in stored {
            XCTAssertEqual(round.validSimulations + round.invalidSimulations, configuration.rounds.simulationsPerRound, file: file, line: line)
            XCTAssertEqual(round.validTestSimulations + round.invalidTestSimulations, configuration.validation.simulations, file: file, line: line)
            let ids = try registry.storedTaskIds(round: round.id)
            XCTAssertEqual(ids.count, round.validSimulations + round.invalidSimulations + round.validTestSimulations + round.invalidTestSimulations,
                           file: file, line: line)
        }
    }

    func testThreeSimulatorsAndATrainerRunTwoRounds() throws {
        let configuration = try configuration()
        var settings = CoordinatorSettings()
        settings.batchSize = 25
        let fleet = try Fleet(configuration, settings: settings)
        for k in 0..<3 { fleet.simulator("sim-\(k)") }
        let trainerRegistry = try Registry(url: configuration.registry)
        var trainerSettings = TrainerWorker.Settings()
        trainerSettings.pollInterval = 0.2
        let trainer = TrainerWorker(connect: fleet.connector("trainer"), registry: trainerRegistry, name: "trainer-1", settings: trainerSettings)
        fleet.spawn { [stop = fleet.stop] in _ = try? trainer.run(stop: stop) }
        // Let every worker say hello before the first round needs it.
        for _ in 0..<300 where fleet.coordinator.status().workers != [.simulator: 3, .trainer: 1] { Thread.sleep(forTimeInterval: 0.05) }
        let summary = try runExperiment(configuration, fleet)
        fleet.end()
        XCTAssertEqual(summary.roundsDone, 2)
        try assertEveryTaskOnce(configuration, rounds: 2)
        let registry = try Registry(url: configuration.registry)
        for round in try registry.rounds(experiment: configuration.name) {
            XCTAssertEqual(try registry.trainingJobs(round: round.id).map(\.claimedBy), ["trainer-1", "trainer-1"], "the trainer worker trained every member")
        }
        XCTAssertEqual(trainer.trained, 4)
    }

    func testASimulatorCutMidTaskLosesAndDuplicatesNothing() throws {
        let configuration = try configuration(rounds: 1)
        var settings = CoordinatorSettings()
        settings.batchSize = 20
        settings.heartbeatInterval = 0.1
        settings.workerTimeout = 1
        let fleet = try Fleet(configuration, settings: settings)
        let stuck = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
        let builtIn = SimulatorWorker.builtIn(BuiltInSimulator.named("two_moons")!)
        let first = LockedBox<Bool>()
        fleet.simulator("doomed") { tasks, xCount in
            if first.value == nil {
                first.set(true)
                stuck.signal()
                release.wait()
            }
            return try builtIn(tasks, xCount)
        }
        for k in 0..<2 { fleet.simulator("sim-\(k)") }
        let cutter = Thread {
            stuck.wait()
            for peer in fleet.lock.withLock({ fleet.peers["doomed"] ?? [] }) { fleet.network.cut(peer) }
            Thread.sleep(forTimeInterval: 2)
            release.signal()
        }
        cutter.start()
        let summary = try runExperiment(configuration, fleet)
        fleet.end()
        XCTAssertEqual(summary.roundsDone, 1)
        try assertEveryTaskOnce(configuration, rounds: 1)
        XCTAssertGreaterThanOrEqual(fleet.coordinator.status().counters.reassignedBatches, 1)
    }

    func testAProducersPairsAreCommittedOnceAndAcknowledged() throws {
        let configuration = try configuration(rounds: 1, perRound: 200)
        let fleet = try Fleet(configuration, settings: CoordinatorSettings())
        let producer = fleet.network.connect()
        _ = try producer.send(FleetCodec.encode(.hello(Hello(worker: "producer", kind: .producer, credit: 0))))
        let acceptedTotal = LockedBox<Int>(), duplicatesTotal = LockedBox<Int>()
        let simulator = BuiltInSimulator.named("two_moons")!
        // 30 pairs per batch, θ spread over the prior's box, each batch resent until acknowledged
        // (and batch 2 sent twice: its second copy is all duplicates).
        fleet.spawn {
            var batch = 0, accepted = 0, duplicates = 0, sends = 0
            while accepted < 200 && sends < 2_000 {
                let theta = (0..<60).map { k in Double((batch * 60 + k) % 97) / 48.5 - 1 }
                let x = simulator.simulate(.init(rows: 30, cols: 2, theta), seeds: (0..<30).map { UInt64(batch * 30 + $0) })
                let message = FleetMessage.pairs(PairBatch(batch: "p\(batch)", taskIds: (0..<30).map { "producer/\(batch)/\($0)" },
                                                           theta: FleetArray(float64: theta, shape: [30, 2]),
                                                           x: FleetArray(float64: x.storage, shape: [30, 2])))
                sends += 1
                _ = try? producer.send(FleetCodec.encode(message))
                if batch == 2 && sends < 50 { _ = try? producer.send(FleetCodec.encode(message)) }
                var waiting = true
                while waiting, let frames = try? producer.receive(timeout: 5), let reply = try? FleetCodec.decode(frames) {
                    switch reply {
                    case .ack(let ack):
                        accepted += ack.accepted
                        duplicates += ack.duplicates
                        if ack.batch == "p\(batch)" && ack.accepted > 0 { batch += 1; waiting = false }
                    case .error(let e) where e.code == .notAccepting:
                        Thread.sleep(forTimeInterval: 0.05)
                        waiting = false
                    case .error:
                        waiting = false
                    default:
                        break
                    }
                }
            }
            acceptedTotal.set(accepted)
            duplicatesTotal.set(duplicates)
        }
        // No simulator until the producer filled the training set: the test set needs one.
        let registry = try Registry(url: configuration.registry)
        let name = configuration.name
        fleet.spawn {
            for _ in 0..<6_000 {
                if let round = try? registry.rounds(experiment: name).first, round.validSimulations >= 200 { break }
                Thread.sleep(forTimeInterval: 0.05)
            }
            fleet.simulator("test-set")
        }
        let summary = try runExperiment(configuration, fleet)
        fleet.end()
        XCTAssertEqual(summary.roundsDone, 1)
        let round = try registry.rounds(experiment: configuration.name)[0]
        let ids = try registry.storedTaskIds(round: round.id)
        let producerIds = ids.filter { $0.hasPrefix("producer/") }
        XCTAssertGreaterThanOrEqual(round.validSimulations, 200)
        XCTAssertEqual(producerIds.count, round.validSimulations + round.invalidSimulations, "the training set is the producer's pairs alone")
        XCTAssertEqual(acceptedTotal.value, producerIds.count, "every acknowledged pair is in the registry, once")
        XCTAssertEqual(duplicatesTotal.value, 30, "the resent batch was recognised")
    }

    func testBadMessagesAreAnsweredWhileHealthyWorkersFinishTheExperiment() throws {
        let configuration = try configuration(rounds: 1, perRound: 300)
        var settings = CoordinatorSettings()
        settings.batchSize = 20
        let fleet = try Fleet(configuration, settings: settings)
        for k in 0..<2 { fleet.simulator("sim-\(k)") }
        let vandal = fleet.network.connect()
        let codes = LockedBox<[FleetErrorCode]>()
        let tag = Array("ili-fleet/1".utf8)
        func result(_ header: String, _ body: [UInt8]) -> [[UInt8]] { [tag, Array("result".utf8), Array(header.utf8), body] }
        var rng: UInt64 = 42
        let random = (0..<3).map { _ in (0..<50).map { _ -> UInt8 in rng = rng &* 6364136223846793005 &+ 1; return UInt8(truncatingIfNeeded: rng >> 33) } }
        let hello = FleetCodec.encode(.hello(Hello(worker: "vandal", kind: .producer, credit: 0)))   // no tasks for it
        let badMessages: [[[UInt8]]] = [
            [random[0]],                                                                          // random frames
            random,
            Array(hello.prefix(2)),                                                               // truncated
            [Array("ili-fleet/9".utf8)] + hello.dropFirst(),                                      // another version
            hello,                                                                                // (now known: the rest reach the checks)
            result(#"{"batch":"v1","task_ids":["a"],"failures":[null],"arrays":[{"name":"x","shape":[1,2],"dtype":"<f4"}]}"#, [0, 0, 0]),
            result(#"{"batch":"v2","task_ids":["a"],"failures":[null],"arrays":[{"name":"x","shape":[1,7],"dtype":"<f4"}]}"#, [UInt8](repeating: 0, count: 28)),
            result(#"{"batch":"v3","task_ids":["a"],"failures":[null],"arrays":[{"name":"x","shape":[268435456,1],"dtype":"<f4"}]}"#, [0, 0, 0, 0]),
            FleetCodec.encode(.pairs(PairBatch(batch: "v4", taskIds: ["nan"], theta: FleetArray(float32: [.nan, 0], shape: [1, 2]),
                                               x: FleetArray(float32: [0, 0], shape: [1, 2])))),
        ]
        fleet.spawn {
            var seen: [FleetErrorCode] = []
            for message in badMessages {
                _ = try? vandal.send(message)
                // Each is answered (a welcome for the hello) before the next goes.
                while let frames = try? vandal.receive(timeout: 10), let reply = try? FleetCodec.decode(frames) {
                    if case .error(let e) = reply { seen.append(e.code); break }
                    if case .welcome = reply { break }
                }
            }
            codes.set(seen)
            vandal.close()
        }
        let summary = try runExperiment(configuration, fleet)
        fleet.end()
        XCTAssertEqual(summary.roundsDone, 1)
        try assertEveryTaskOnce(configuration, rounds: 1)
        let seen = codes.value ?? []
        XCTAssertTrue(seen.starts(with: [.malformed, .malformed, .malformed, .version, .shape, .shape, .tooLarge]), "\(seen)")
        XCTAssertEqual(seen.count, 8, "the NaN θ is refused too (invalid-value, or not-accepting between rounds): \(seen)")
        XCTAssertTrue([.invalidValue, .notAccepting].contains(seen.last!))
        XCTAssertGreaterThanOrEqual(fleet.coordinator.status().counters.rejected.values.reduce(0, +), 8)
    }
}
