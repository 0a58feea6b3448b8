import Foundation
import ILIRegistry
import ILITensor
import XCTest

/// The fleet through the real binary: `ili run --bind`, `ili simulate`, `ili train-worker`
/// and a Python worker as separate processes on loopback, killed with SIGKILL where the
/// issue asks. Every wait is bounded.
final class FleetCommandTests: ProcessTestCase {
    func startPython(_ script: String, log: String) throws -> Process? {
        let python = ProcessInfo.processInfo.environment["ILI_FLEET_PYTHON"] ?? "/usr/bin/env"
        let check = Process()
        check.executableURL = URL(fileURLWithPath: python)
        check.arguments = (python.hasSuffix("env") ? ["python3"] : []) + ["-c", "import zmq, numpy"]
        check.standardError = FileHandle.nullDevice
        try check.run()
        check.waitUntilExit()
        guard check.terminationStatus == 0 else { return nil }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = (python.hasSuffix("env") ? ["python3"] : []) + [script]
        process.currentDirectoryURL = directory
        var environment = ProcessInfo.processInfo.environment
        environment["PYTHONPATH"] = Self.opsPython
        process.environment = environment
        _ = FileManager.default.createFile(atPath: path(log), contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path(log)))
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        processes.append(process)
        return process
    }

    static var opsPython: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("ops/python").path
    }

    /// Waits for `process` to exit, at most `seconds`; fails with the logs when it does not.
    func waitForExit(_ process: Process, seconds: Double, logs: [String]) -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        if process.isRunning {
            XCTFail("still running after \(Int(seconds)) s; logs:\n" + logs.map { "--- \($0)\n\(log($0).suffix(3_000))" }.joined(separator: "\n"))
            kill(process.processIdentifier, SIGKILL)
            return nil
        }
        return process.terminationStatus
    }

    /// Waits until `condition` holds, at most `seconds`.
    func waitUntil(_ seconds: Double, _ what: String, _ condition: () throws -> Bool) {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if (try? condition()) == true { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        XCTFail("gave up waiting for \(what) after \(Int(seconds)) s")
    }

    func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    func writeConfiguration(simulator: String = "two_moons", rounds: Int = 2, perRound: Int = 400, train: String = "{max_epochs: 3, batch_size: 100}",
                            members: String = "[{model: maf, hidden_features: 8, num_transforms: 2}, {model: mdn, hidden_features: 8, num_components: 2}]") throws -> String {
        let yaml = """
            experiment: fleet
            simulator: \(simulator)
            prior: {uniform: {low: [-1, -1], high: [1, 1]}}
            inference: {method: npe, estimators: \(members)}
            rounds: {strategy: amortized, count: \(rounds), simulations_per_round: \(perRound)}
            train: \(train)
            validation: {simulations: 30, samples: 50}
            registry: sqlite:registry.db
            seed: 11
            """
        try yaml.write(toFile: path("fleet.yaml"), atomically: true, encoding: .utf8)
        return path("fleet.yaml")
    }

    /// A slow simulator with the exec contract (pure Python): x = (θ₀ + θ₁, θ₀ − θ₁) + noise, after a pause.
    func writeSlowSimulator(pause: Double) throws -> String {
        let script = """
            import struct, sys, random, ast, time, os
            data = sys.stdin.buffer.read()
            hlen = struct.unpack('<H', data[8:10])[0]
            header = ast.literal_eval(data[10:10 + hlen].decode('latin1'))
            rows, cols = header['shape']
            values = struct.unpack('<%dd' % (rows * cols), data[10 + hlen:])
            time.sleep(\(pause))
            rng = random.Random(int(os.environ.get('ILI_SEED', '0')))
            x = []
            for i in range(rows):
                t0, t1 = values[i * cols], values[i * cols + 1]
                x += [t0 + t1 + 0.05 * rng.gauss(0, 1), t0 - t1 + 0.05 * rng.gauss(0, 1)]
            head = "{'descr': '<f8', 'fortran_order': False, 'shape': (%d, 2), }" % rows
            head = head + ' ' * (63 - (10 + len(head)) % 64) + '\\n'
            sys.stdout.buffer.write(b'\\x93NUMPY\\x01\\x00' + struct.pack('<H', len(head)) + head.encode('latin1') + struct.pack('<%dd' % (2 * rows), *x))
            """
        try script.write(toFile: path("slow_sim.py"), atomically: true, encoding: .utf8)
        return "python3 slow_sim.py"
    }

    func registry() throws -> Registry { try Registry(url: "sqlite:" + path("registry.db")) }

    /// Every round done, with exactly its target of training and test simulations, each task once.
    func assertComplete(rounds: Int, perRound: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let registry = try registry()
        let stored = try registry.rounds(experiment: "fleet")
        XCTAssertEqual(stored.map(\.status), Array(repeating: .done, count: rounds), file: file, line: line)
        for round in stored {
            let training = round.validSimulations + round.invalidSimulations
            XCTAssertGreaterThanOrEqual(round.validSimulations, perRound, file: file, line: line)
            XCTAssertEqual(training, perRound + round.invalidSimulations, "no surplus beyond replacements of failures", file: file, line: line)
            XCTAssertEqual(try registry.storedTaskIds(round: round.id).count,
                           training + round.validTestSimulations + round.invalidTestSimulations, file: file, line: line)
        }
    }

    // MARK: The tests

    func testCoordinatorThreeSimulatorsOneOfThemPythonAndATrainerOverCurve() throws {
        let config = try writeConfiguration()
        for name in ["coordinator", "sim-a", "sim-b", "py", "trainer", "stranger"] {
            let generated = try BinaryRunner.run(["keys", "generate", path("keys/\(name)")])
            XCTAssertEqual(generated.status, 0, generated.stderr)
        }
        let allowed = try ["sim-a", "sim-b", "py", "trainer"].map { try String(contentsOfFile: path("keys/\($0).pub"), encoding: .utf8) }.joined()
        try allowed.write(toFile: path("allowed"), atomically: true, encoding: .utf8)
        let endpoint = "tcp://127.0.0.1:\(freePort())"
        let workerKeys = { (name: String) in ["--key", self.path("keys/\(name).key"), "--server-key", self.path("keys/coordinator.pub")] }
        // Every worker first, then the coordinator once the Python worker has started (its
        // imports take a while); a worker says hello until it is welcomed. Joining soon is not
        // enough (the experiment takes a second or two, and a CURVE handshake can lose that
        // race), so the coordinator waits for all the simulators before the first task.
        var workers = [try start(["train-worker", "--connect", endpoint, "--registry", "sqlite:" + path("registry.db"), "--name", "trainer-1",
                                  "--poll", "0.5"] + workerKeys("trainer"), log: "trainer.log")]
        workers.append(try start(["simulate", "--connect", endpoint, "--simulator", "two_moons", "--name", "sim-a"] + workerKeys("sim-a"), log: "sim-a.log"))
        workers.append(try start(["simulate", "--connect", endpoint, "--simulator", "two_moons", "--name", "sim-b"] + workerKeys("sim-b"), log: "sim-b.log"))
        try start(["simulate", "--connect", endpoint, "--simulator", "two_moons", "--name", "stranger"] + workerKeys("stranger"), log: "stranger.log")
        let pythonWorker = """
            import numpy as np
            from ili_fleet import serve

            batches = 0
            def simulate(theta, seeds):   # two moons, as ili's built-in one
                global batches
                batches += 1
                rng = np.random.default_rng(int(seeds[0]))
                a = rng.uniform(-np.pi / 2, np.pi / 2, len(theta)); r = 0.1 + 0.01 * rng.normal(size=len(theta))
                return np.column_stack([r * np.cos(a) + 0.25 - np.abs(theta[:, 0] + theta[:, 1]) / np.sqrt(2),
                                        r * np.sin(a) + (theta[:, 1] - theta[:, 0]) / np.sqrt(2)])

            print("python worker starting", flush=True)
            reason = serve(simulate, "\(endpoint)", name="python-1", key="keys/py.key", server_key="keys/coordinator.pub", log=print)
            print("python worker done after %d batches: %s" % (batches, reason), flush=True)
            """
        try pythonWorker.write(toFile: path("worker.py"), atomically: true, encoding: .utf8)
        let python = try startPython(path("worker.py"), log: "python.log")
        if let python {
            workers.append(python)
            waitUntil(120, "the Python worker to start") { self.log("python.log").contains("python worker starting") }
        } else if ProcessInfo.processInfo.environment["ILI_REQUIRE_ALL"] == "1" {
            XCTFail("no Python with pyzmq and numpy (ILI_FLEET_PYTHON, set by ops/test), which ILI_REQUIRE_ALL=1 requires")
        } else {
            print("note: no Python with pyzmq and numpy (ILI_FLEET_PYTHON); the Python worker is left out")
        }
        // Tasks wait for every simulator, so that round-robin gives each one some.
        let coordinator = try start(["run", config, "--bind", endpoint, "--local-workers", "0", "--key", path("keys/coordinator.key"),
                                     "--allowed-keys", path("allowed"), "--batch-size", "20", "--wait-for-simulators", python == nil ? "2" : "3"],
                                    log: "coordinator.log")
        let logs = ["coordinator.log", "sim-a.log", "sim-b.log", "python.log", "trainer.log", "stranger.log"]
        XCTAssertEqual(waitForExit(coordinator, seconds: 300, logs: logs), 0, log("coordinator.log"))
        try assertComplete(rounds: 2, perRound: 400)
        let registry = try registry()
        for round in try registry.rounds(experiment: "fleet") {
            XCTAssertEqual(try registry.trainingJobs(round: round.id).map(\.claimedBy), ["trainer-1", "trainer-1"])
        }
        // Every worker was told the experiment is over and exited 0; the stranger never got in.
        for worker in workers { XCTAssertEqual(waitForExit(worker, seconds: 60, logs: logs), 0) }
        let coordinatorLog = log("coordinator.log")
        if python != nil {
            XCTAssertTrue(log("python.log").contains("python worker done after"), log("python.log"))
            XCTAssertFalse(log("python.log").contains("done after 0 batches"), "the Python worker simulated: \(log("python.log"))")
        }
        XCTAssertTrue(coordinatorLog.contains("trainer trainer-1 joined"), coordinatorLog)
        XCTAssertTrue(coordinatorLog.contains("simulator sim-a joined") && coordinatorLog.contains("simulator sim-b joined"), coordinatorLog)
        XCTAssertTrue(coordinatorLog.contains("refused a worker"), "the stranger's key is logged: \(coordinatorLog)")
        XCTAssertFalse(coordinatorLog.contains("stranger joined"))
        XCTAssertFalse(log("stranger.log").contains("connected:"), log("stranger.log"))
    }

    func testASimulatorKilledMidTaskLosesAndDuplicatesNothing() throws {
        let command = try writeSlowSimulator(pause: 0.3)
        let config = try writeConfiguration(simulator: "{exec: '\(command)'}", rounds: 1, perRound: 300)
        let endpoint = "ipc://" + path("coordinator.sock")
        let doomed = try start(["simulate", "--connect", endpoint, "--exec", command, "--name", "doomed"], log: "doomed.log")
        try start(["simulate", "--connect", endpoint, "--exec", command, "--name", "survivor"], log: "survivor.log")
        let coordinator = try start(["run", config, "--bind", endpoint, "--local-workers", "0", "--batch-size", "10", "--heartbeat", "0.2"],
                                    log: "coordinator.log")
        // Kill it while it holds a batch: after the round's first commits.
        waitUntil(120, "the first simulations") { try self.registry().rounds(experiment: "fleet").first.map { $0.validSimulations > 20 } ?? false }
        kill(doomed.processIdentifier, SIGKILL)
        XCTAssertEqual(waitForExit(coordinator, seconds: 300, logs: ["coordinator.log", "survivor.log"]), 0, log("coordinator.log"))
        try assertComplete(rounds: 1, perRound: 300)
        XCTAssertTrue(log("coordinator.log").contains("simulator doomed left"), log("coordinator.log"))
    }

    /// With --local-workers 0 and `x_width` the coordinator never runs the program (it exists
    /// only where the workers are); without `x_width` it must run it once, and when it cannot
    /// the run stops at once pointing to the key.
    func testACoordinatorWithoutLocalWorkersNeedsNotHaveTheProgram() throws {
        let command = try writeSlowSimulator(pause: 0)
        let missing = "python3 only_on_the_workers.py"
        let endpoint = "ipc://" + path("coordinator.sock")
        let unsized = try writeConfiguration(simulator: "{exec: '\(missing)'}", rounds: 1, perRound: 100)
        let refused = try BinaryRunner.run(["run", unsized, "--bind", endpoint, "--local-workers", "0"])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("simulator.x_width"), refused.stderr)

        let config = try writeConfiguration(simulator: "{exec: '\(missing)', x_width: 2}", rounds: 1, perRound: 100)
        try start(["simulate", "--connect", endpoint, "--exec", command, "--name", "remote"], log: "remote.log")
        let coordinator = try start(["run", config, "--bind", endpoint, "--local-workers", "0", "--batch-size", "20", "--heartbeat", "0.2"],
                                    log: "coordinator.log")
        XCTAssertEqual(waitForExit(coordinator, seconds: 300, logs: ["coordinator.log", "remote.log"]), 0, log("coordinator.log"))
        try assertComplete(rounds: 1, perRound: 100)
        XCTAssertFalse(log("coordinator.log").contains("only_on_the_workers"), log("coordinator.log"))
    }

    func testACoordinatorKilledMidRoundAndRestartedKeepsEveryAcknowledgedPairOnce() throws {
        let command = try writeSlowSimulator(pause: 0.2)
        let config = try writeConfiguration(simulator: "{exec: '\(command)'}", rounds: 2, perRound: 300)
        let endpoint = "ipc://" + path("coordinator.sock")
        let arguments = ["run", config, "--bind", endpoint, "--local-workers", "0", "--batch-size", "10", "--heartbeat", "0.2"]
        for k in 0..<2 { try start(["simulate", "--connect", endpoint, "--exec", command, "--name", "sim-\(k)"], log: "sim-\(k).log") }
        let first = try start(arguments, log: "first.log")
        waitUntil(120, "round 0's first simulations") { try self.registry().rounds(experiment: "fleet").first.map { $0.validSimulations > 50 } ?? false }
        kill(first.processIdentifier, SIGKILL)
        _ = waitForExit(first, seconds: 30, logs: ["first.log"])
        let before = try registry().storedTaskIds(round: try registry().rounds(experiment: "fleet")[0].id)
        XCTAssertFalse(before.isEmpty)
        let second = try start(arguments, log: "second.log")
        XCTAssertEqual(waitForExit(second, seconds: 300, logs: ["second.log", "sim-0.log", "sim-1.log"]), 0, log("second.log"))
        try assertComplete(rounds: 2, perRound: 300)
        let after = try registry().storedTaskIds(round: try registry().rounds(experiment: "fleet")[0].id)
        XCTAssertTrue(before.isSubset(of: after), "every pair committed before the kill is kept")
        XCTAssertTrue(log("second.log").contains("resuming experiment fleet"), log("second.log"))
    }

    func testSIGTERMStopsTheCoordinatorCleanlyAndTheWorkersWaitForItsSuccessor() throws {
        let command = try writeSlowSimulator(pause: 0.2)
        let config = try writeConfiguration(simulator: "{exec: '\(command)'}", rounds: 1, perRound: 300)
        let endpoint = "ipc://" + path("coordinator.sock")
        let arguments = ["run", config, "--bind", endpoint, "--local-workers", "0", "--batch-size", "10", "--heartbeat", "0.2"]
        let worker = try start(["simulate", "--connect", endpoint, "--exec", command, "--name", "patient"], log: "worker.log")
        let first = try start(arguments, log: "first.log")
        waitUntil(120, "the first simulations") { try self.registry().rounds(experiment: "fleet").first.map { $0.validSimulations > 20 } ?? false }
        kill(first.processIdentifier, SIGTERM)
        XCTAssertEqual(waitForExit(first, seconds: 60, logs: ["first.log"]), 0, log("first.log"))
        XCTAssertTrue(log("first.log").contains("stopped (SIGTERM received)"), log("first.log"))
        XCTAssertEqual(try registry().rounds(experiment: "fleet")[0].status, .simulating)
        XCTAssertTrue(worker.isRunning, "a stopped coordinator does not send its workers away")
        let second = try start(arguments, log: "second.log")
        XCTAssertEqual(waitForExit(second, seconds: 300, logs: ["second.log", "worker.log"]), 0, log("second.log"))
        try assertComplete(rounds: 1, perRound: 300)
        XCTAssertEqual(waitForExit(worker, seconds: 60, logs: ["worker.log"]), 0)
    }

    func testATrainerKilledMidJobIsTakenOverByAnother() throws {
        let config = try writeConfiguration(rounds: 1, perRound: 300, train: "{max_epochs: 400, stop_after_epochs: 1000, batch_size: 50}",
                                            members: "[{model: maf, hidden_features: 8, num_transforms: 2}]")
        let endpoint = "ipc://" + path("coordinator.sock")
        let trainer = ["train-worker", "--connect", endpoint, "--registry", "sqlite:" + path("registry.db"), "--stale-after", "4",
                       "--heartbeat", "1", "--poll", "0.5"]
        let doomed = try start(trainer + ["--name", "trainer-doomed"], log: "doomed.log")
        let coordinator = try start(["run", config, "--bind", endpoint, "--local-workers", "1", "--heartbeat", "0.2"], log: "coordinator.log")
        waitUntil(180, "the first trainer to hold the job") {
            let registry = try self.registry()
            guard let round = try registry.rounds(experiment: "fleet").first else { return false }
            return try registry.trainingJobs(round: round.id).contains { $0.status == .running && $0.claimedBy == "trainer-doomed" }
        }
        kill(doomed.processIdentifier, SIGKILL)
        try start(trainer + ["--name", "trainer-heir"], log: "heir.log")
        XCTAssertEqual(waitForExit(coordinator, seconds: 300, logs: ["coordinator.log", "heir.log"]), 0, log("coordinator.log"))
        let registry = try registry()
        let job = try registry.trainingJobs(round: try registry.rounds(experiment: "fleet")[0].id)[0]
        XCTAssertEqual(job.status, .done)
        XCTAssertEqual(job.claimedBy, "trainer-heir")
        XCTAssertEqual(job.attempts, 2)
    }
}

/// `ili simulate` without a coordinator: simulations written to files, and its refusals.
final class SimulateFileCommandTests: ScratchDirectoryTestCase {
    func testWritesThetaAndXFilesFromTheDefaultPriorOrAGivenOne() throws {
        let written = try BinaryRunner.run(["simulate", "--simulator", "two_moons", "--count", "50", "--out", path("data"), "--seed", "3"])
        XCTAssertEqual(written.status, 0, written.stderr)
        let theta = try NPYFile.read(path("data/theta.npy")).matrix(as: Float.self)
        let x = try NPYFile.read(path("data/x.npy")).matrix(as: Float.self)
        XCTAssertEqual([theta.rows, theta.cols, x.rows, x.cols], [50, 2, 50, 2])
        XCTAssertTrue(theta.storage.allSatisfy { abs($0) <= 1 }, "two moons' prior is the box [-1, 1]²")
        // The same seed gives the same files.
        XCTAssertEqual(try BinaryRunner.run(["simulate", "--simulator", "two_moons", "--count", "50", "--out", path("again"), "--seed", "3"]).status, 0)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path("again/x.npy"))), try Data(contentsOf: URL(fileURLWithPath: path("data/x.npy"))))
        // A prior of its own: θ inside [0.5, 0.6]².
        try "prior: {uniform: {low: [0.5, 0.5], high: [0.6, 0.6]}}\n".write(toFile: path("prior.yaml"), atomically: true, encoding: .utf8)
        XCTAssertEqual(try BinaryRunner.run(["simulate", "--simulator", "two_moons", "--count", "20", "--out", path("narrow"), "--prior", path("prior.yaml")]).status, 0)
        XCTAssertTrue(try NPYFile.read(path("narrow/theta.npy")).matrix(as: Float.self).storage.allSatisfy { $0 >= 0.5 && $0 <= 0.6 })
    }

    func testRefusesWhatCannotWorkWithAMessageNamingIt() throws {
        let unknown = try BinaryRunner.run(["simulate", "--simulator", "three_moons", "--count", "5", "--out", path("d")])
        XCTAssertNotEqual(unknown.status, 0)
        XCTAssertTrue(unknown.stderr.contains("three_moons"), unknown.stderr)
        let noCount = try BinaryRunner.run(["simulate", "--simulator", "two_moons", "--out", path("d")])
        XCTAssertTrue(noCount.stderr.contains("--count"), noCount.stderr)
        let plainTCP = try BinaryRunner.run(["simulate", "--connect", "tcp://127.0.0.1:9", "--simulator", "two_moons"])
        XCTAssertNotEqual(plainTCP.status, 0)
        XCTAssertTrue(plainTCP.stderr.contains("CURVE"), plainTCP.stderr)
        try "prior: {uniform: {low: [0, 0], high: [1, 1]}}\n".write(toFile: path("two.yaml"), atomically: true, encoding: .utf8)
        let wrongPrior = try BinaryRunner.run(["simulate", "--simulator", "ltu_toy", "--count", "5", "--out", path("d"), "--prior", path("two.yaml")])
        XCTAssertNotEqual(wrongPrior.status, 0)
        XCTAssertTrue(wrongPrior.stderr.contains("2 parameters") && wrongPrior.stderr.contains("takes 3"), wrongPrior.stderr)
    }
}
