import Foundation
import ILIRegistry
import ILITensor
import XCTest

/// `ili run` through the real binary: what it records, and how it survives being killed.
final class RunCommandTests: ScratchDirectoryTestCase {
    /// A 2-D Gaussian-linear experiment small enough for a test, calibrated with this seed.
    func gaussianConfig(registry: String? = nil, name: String = "gauss", extra: String = "") -> String {
        """
        experiment: \(name)
        simulator: {name: gaussian_linear, dimension: 2}
        inference: {method: npe, estimators: [{model: maf, hidden_features: 20, num_transforms: 2}]}
        rounds: {count: 2, simulations_per_round: 500}
        train: {max_epochs: 30}
        validation: {simulations: 100, samples: 200}
        seed: 2
        \(registry.map { "registry: \($0)" } ?? "")
        \(extra)
        """
    }

    func write(_ text: String, _ name: String) throws -> String {
        try text.write(toFile: path(name), atomically: true, encoding: .utf8)
        return path(name)
    }

    func testARunRecordsEveryRoundAndSamplingTakesTheLatestCalibratedPosterior() throws {
        try runAndCheck(registry: nil, url: "sqlite:" + path("runs/gauss/registry.db"))
    }

    func testARunAgainstPostgreSQL() throws {
        guard let url = ProcessInfo.processInfo.environment["ILI_TEST_DATABASE_URL"] else {
            let environment = ProcessInfo.processInfo.environment
            if environment["ILI_REQUIRE_DATABASE"] == "1" || environment["ILI_REQUIRE_ALL"] == "1" {
                XCTFail("PostgreSQL is required but ILI_TEST_DATABASE_URL is not set: run the tests through ops/test")
            }
            throw XCTSkip("no PostgreSQL (ILI_TEST_DATABASE_URL)")
        }
        try runAndCheck(registry: url, url: url, name: "gauss-\(UUID().uuidString.prefix(8))")
    }

    func runAndCheck(registry: String?, url: String, name: String = "gauss") throws {
        let config = try write(gaussianConfig(registry: registry, name: name), "gauss.yaml")
        let run = try BinaryRunner.run(["run", config, "--quiet"])
        XCTAssertEqual(run.status, 0, run.stdout + run.stderr)
        XCTAssertTrue(run.stdout.contains("2 of 2 rounds done"), run.stdout)
        XCTAssertTrue(run.stdout.contains("time in the registry"), run.stdout)

        let registryHandle = try Registry(url: url)
        defer { registryHandle.close() }
        let rounds = try registryHandle.rounds(experiment: name)
        XCTAssertEqual(rounds.map(\.status), [.done, .done])
        XCTAssertEqual(rounds.map(\.validSimulations), [500, 500])
        XCTAssertEqual(rounds.map(\.validTestSimulations), [100, 100])
        let posteriors = try registryHandle.posteriors(experiment: name)
        XCTAssertEqual(posteriors.count, 2)
        for posterior in posteriors {
            let verdict = try XCTUnwrap(try registryHandle.validationResults(posterior: posterior.id).last)
            XCTAssertEqual(verdict.metric, "verdict")
            XCTAssertEqual(posterior.calibrated, verdict.passed)
        }
        let calibrated = try XCTUnwrap(try registryHandle.latestCalibratedPosterior(experiment: name),
                                       "this seed's posteriors pass the gate: \(run.stdout)")

        let listing = try BinaryRunner.run(["registry", "rounds", "--experiment", name, "--registry", url])
        XCTAssertEqual(listing.status, 0, listing.stderr)
        XCTAssertNotNil(listing.stdout.range(of: #"round-\d+\s+1\s+done\s+prior\s+500\s+0\s+500\s+100\s+[0-9.]+\s+posterior-\d+\s+(passed|failed)\s+(yes|no)"#,
                                             options: .regularExpression), listing.stdout)

        // Sampling the latest calibrated posterior from the registry is sampling that posterior.
        try NPYFile.write(Matrix<Double>([[0.1, -0.3]]), to: path("xo.npy"))
        let fromRegistry = try BinaryRunner.run(["sample", "--registry", url, "--experiment", name, "--latest-calibrated",
                                                 "--obs", path("xo.npy"), "--num-samples", "300", "--out", path("a.npy"), "--seed", "4"])
        XCTAssertEqual(fromRegistry.status, 0, fromRegistry.stderr)
        let byId = try BinaryRunner.run(["sample", "--registry", url, "--posterior-id", "posterior-\(calibrated.id)",
                                         "--obs", path("xo.npy"), "--num-samples", "300", "--out", path("b.npy"), "--seed", "4"])
        XCTAssertEqual(byId.status, 0, byId.stderr)
        let exported = try BinaryRunner.run(["registry", "export", "posterior-\(calibrated.id)", path("export"), "--registry", url])
        XCTAssertEqual(exported.status, 0, exported.stderr)
        let fromExport = try BinaryRunner.run(["sample", "--posterior", path("export"), "--obs", path("xo.npy"),
                                               "--num-samples", "300", "--out", path("c.npy"), "--seed", "4"])
        XCTAssertEqual(fromExport.status, 0, fromExport.stderr)
        let a = try NPYFile.read(path("a.npy")).values
        XCTAssertEqual(a, try NPYFile.read(path("b.npy")).values)
        XCTAssertEqual(a, try NPYFile.read(path("c.npy")).values)
    }

    func testMistakesAreCaughtBeforeAnyWork() throws {
        try NPYFile.write(Matrix<Double>([[0.1, 0.2, 0.3]]), to: path("wide.npy"))
        let cases: [(String, String)] = [
            ("simulator: tow_moons\ninference: {method: npe, estimators: [{model: maf}]}", "unknown simulator 'tow_moons'"),
            ("simulator: two_moons\ninference: {method: npe, estimators: [{model: maf}]}\nrounds: {count: 0}", "rounds.count: must be at least 1"),
            ("simulator: two_moons\ninference: {method: npe, estimators: [{model: maf}]}\nrounds: {strategy: sequential}",
             "sequential rounds focus on one observation"),
            ("simulator: two_moons\ninference: {method: npe, estimators: [{model: maf}]}\nobservation: wide.npy",
             "has 3 values but the simulator's x has 2"),
            ("simulator: {exec: 'no-such-program'}\nprior: {uniform: {low: [0], high: [1]}}\ninference: {method: npe, estimators: [{model: maf}]}",
             "no program `no-such-program` on PATH"),
            ("simulator: two_moons\ninference: {method: npe, estimators: [{model: nsff}]}", "nsff"),
            ("simulator: two_moons\ninference: {method: npe, estimators: [{model: maf}]}\nregistry: postgresql://ili:secret@127.0.0.1:1/ili",
             "registry unavailable"),
        ]
        for (k, (yaml, message)) in cases.enumerated() {
            let config = try write(yaml, "bad\(k).yaml")
            let result = try BinaryRunner.run(["run", config, "--quiet"])
            XCTAssertEqual(result.status, 1, "\(yaml)\n\(result.stdout)\(result.stderr)")
            XCTAssertTrue(result.stderr.hasPrefix("Error: ") && result.stderr.contains(message), "expected “\(message)”, got: \(result.stderr)")
            XCTAssertFalse(result.stderr.contains("secret"), result.stderr)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("runs/bad0")), "nothing is created for a configuration that fails")
    }

    func testASummaryWithoutValidationSaysSoAndListsOnlyWhatWasWritten() throws {
        let config = try write(gaussianConfig(name: "unvalidated").replacingOccurrences(of: "validation: {simulations: 100, samples: 200}", with: "validation: {simulations: 0}")
                                   .replacingOccurrences(of: "count: 2", with: "count: 1"), "unvalidated.yaml")
        let result = try BinaryRunner.run(["run", config, "--quiet"])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        XCTAssertTrue(result.stdout.contains("latest posterior: posterior-1, not validated"), result.stdout)
        XCTAssertTrue(result.stdout.contains("(posterior.json, members/)"), result.stdout)
        XCTAssertFalse(result.stdout.contains("validation.json"), "no validation.json was written: \(result.stdout)")
        XCTAssertTrue(result.stdout.contains("the latest was not validated"), result.stdout)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("runs/unvalidated/round-0/validation.json")))
    }

    // MARK: Killed and restarted

    /// Starts `ili run` without waiting.
    func start(_ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = BinaryRunner.productsDirectory.appendingPathComponent("ili")
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Polls `condition` every 50 ms for up to `seconds`.
    func waitFor(_ what: String, seconds: Double = 120, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while try !condition() {
            guard Date() < deadline else {
                struct Timeout: Error, CustomStringConvertible { var description: String }
                throw Timeout(description: "timed out after \(Int(seconds)) s waiting for \(what)")
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    /// Reads a registry without creating one that is not there yet.
    func registryIfPresent(_ file: String) throws -> Registry? {
        FileManager.default.fileExists(atPath: file) ? try Registry(url: "sqlite:" + file) : nil
    }

    func testSigkillDuringSimulationAndTrainingLosesAndRepeatsNothing() throws {
        // A slow Python simulator (a batch of 20 takes 0.2 s) that logs every θ it simulates.
        try """
            import struct, sys, time, ast, os
            data = sys.stdin.buffer.read()
            major = data[6]
            (hlen, start) = (struct.unpack('<H', data[8:10])[0], 10) if major == 1 else (struct.unpack('<I', data[8:12])[0], 12)
            rows, cols = ast.literal_eval(data[start:start + hlen].decode('latin1'))['shape']
            values = struct.unpack('<%dd' % (rows * cols), data[start + hlen:])
            time.sleep(0.2)
            with open(os.environ['SIM_LOG'], 'a') as log:
                for i in range(rows):
                    log.write(' '.join(repr(v) for v in values[i * cols:(i + 1) * cols]) + '\\n')
            x = [v + 0.1 for v in values]
            head = "{'descr': '<f8', 'fortran_order': False, 'shape': (%d, %d), }" % (rows, cols)
            head = head + ' ' * (63 - (10 + len(head)) % 64) + '\\n'
            sys.stdout.buffer.write(b'\\x93NUMPY\\x01\\x00' + struct.pack('<H', len(head)) + head.encode('latin1')
                                    + struct.pack('<%dd' % (rows * cols), *x))
            """.write(toFile: path("slow.py"), atomically: true, encoding: .utf8)
        let config = try write("""
            experiment: slow
            simulator: {exec: 'python3 slow.py', workers: 2, batch_size: 20}
            prior: {uniform: {low: [-1, -1], high: [1, 1]}}
            inference: {method: npe, estimators: [{model: maf, hidden_features: 30, num_transforms: 3, repeats: 2}]}
            rounds: {count: 1, simulations_per_round: 400}
            train: {max_epochs: 400, stop_after_epochs: 400, batch_size: 50}
            validation: {simulations: 20, samples: 100}
            seed: 5
            """, "slow.yaml")
        setenv("SIM_LOG", path("sim.log"), 1)
        defer { unsetenv("SIM_LOG") }
        let db = path("runs/slow/registry.db")

        // 1. Killed mid-simulation, once some batches are committed.
        let first = try start(["run", config, "--quiet"])
        try waitFor("simulations to be committed") {
            guard let r = try registryIfPresent(db) else { return false }
            defer { r.close() }
            return (try? r.rounds(experiment: "slow").first?.validSimulations ?? 0).map { $0 >= 100 } ?? false
        }
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        let registry = try Registry(url: "sqlite:" + db)
        defer { registry.close() }
        let round = try registry.rounds(experiment: "slow")[0]
        XCTAssertEqual(round.status, .simulating)
        let committedBeforeKill = try registry.trainingData(experiment: "slow", rounds: 0...0)
        XCTAssertGreaterThanOrEqual(committedBeforeKill.count, 100)

        // 2. Restarted, then killed mid-training.
        let second = try start(["run", config, "--quiet"])
        try waitFor("training to start") {
            let jobs = try registry.trainingJobs(round: round.id)
            return jobs.contains { $0.status == .running && ($0.heartbeatAt.map { Date().timeIntervalSince($0) < 5 } ?? false) }
                || jobs.contains { $0.status == .done }
        }
        kill(second.processIdentifier, SIGKILL)
        second.waitUntilExit()
        XCTAssertEqual(try registry.round(id: round.id).status, .training)

        // 3. Restarted to the end.
        let third = try BinaryRunner.run(["run", config, "--quiet"])
        XCTAssertEqual(third.status, 0, third.stdout + third.stderr)
        let finished = try registry.round(id: round.id)
        XCTAssertEqual(finished.status, .done)
        XCTAssertEqual(finished.validSimulations, 400, "exactly the target: no simulation stored twice or lost")
        XCTAssertEqual(finished.validTestSimulations, 20)
        XCTAssertEqual(try registry.storedTaskIds(round: round.id).count, 420)
        XCTAssertEqual(try registry.trainingJobs(round: round.id).map(\.status), [.done, .done])
        XCTAssertEqual(try registry.modelVersions(experiment: "slow").count, 2, "a killed member leaves no orphan model version")

        // Every simulation committed before the first kill was simulated once only.
        let log = try String(contentsOfFile: path("sim.log"), encoding: .utf8).split(separator: "\n").map { line in
            line.split(separator: " ").map { Float(Double($0)!) }
        }
        var seen: [[Float]: Int] = [:]
        for theta in log { seen[theta, default: 0] += 1 }
        let d = committedBeforeKill.thetaDimension
        for i in 0..<committedBeforeKill.count {
            let theta = Array(committedBeforeKill.theta[(i * d)..<((i + 1) * d)])
            XCTAssertEqual(seen[theta], 1, "θ \(theta) committed before the kill was simulated \(seen[theta] ?? 0) times")
        }
        // The stored pairs are the committed ones plus the rest, each once.
        let all = try registry.trainingData(experiment: "slow", rounds: 0...0)
        XCTAssertEqual(Array(all.theta.prefix(committedBeforeKill.theta.count)), committedBeforeKill.theta)
    }

    func testSigintStopsCleanlyAndTheSameCommandFinishes() throws {
        let config = try write(gaussianConfig(extra: "").replacingOccurrences(of: "count: 2, simulations_per_round: 500",
                                                                              with: "count: 1, simulations_per_round: 20000"), "big.yaml")
        let db = path("runs/gauss/registry.db")
        let process = Process()
        process.executableURL = BinaryRunner.productsDirectory.appendingPathComponent("ili")
        process.arguments = ["run", config, "--quiet"]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        try waitFor("training to start") {
            guard let r = try registryIfPresent(db) else { return false }
            defer { r.close() }
            return (try? r.rounds(experiment: "gauss").first?.status) == .training
        }
        kill(process.processIdentifier, SIGINT)
        let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, stdout)
        XCTAssertTrue(stdout.contains("stopped (SIGINT received)") && stdout.contains("resume with"), stdout)
        let resumed = try BinaryRunner.run(["run", config, "--quiet"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stdout.contains("1 of 1 rounds done"), resumed.stdout)
    }
}

extension ScratchDirectoryTestCase {
    /// Trains a small NPE posterior from files with `ili train --registry URL --experiment NAME`
    /// and returns its registered id and its directory.
    func trainIntoRegistry(_ url: String, experiment: String) throws -> (id: PosteriorID, directory: String) {
        var rng = RandomSource(seed: 21)
        let n = 400
        let theta = Matrix<Double>(rows: n, cols: 2) { _, _ in rng.uniform(in: -1.0, 1.0) }
        let x = Matrix<Double>(rows: n, cols: 2) { i, j in theta[i, j] + 0.1 * rng.normal() }
        try NPYFile.write(theta, to: path("files_theta.npy"))
        try NPYFile.write(x, to: path("files_x.npy"))
        try """
            prior: {uniform: {low: [-1, -1], high: [1, 1]}}
            data: {theta: files_theta.npy, x: files_x.npy}
            inference: {method: npe, estimators: [{model: mdn, hidden_features: 16, num_components: 2}]}
            train: {max_epochs: 10, batch_size: 100}
            seed: 4
            out: files-posterior
            """.write(toFile: path("files.yaml"), atomically: true, encoding: .utf8)
        let result = try BinaryRunner.run(["train", path("files.yaml"), "--quiet", "--registry", url, "--experiment", experiment])
        guard result.status == 0, let match = result.stdout.range(of: #"recorded as posterior-(\d+)"#, options: .regularExpression),
              let id = Int64(result.stdout[match].split(separator: "-").last!).map(PosteriorID.init(rawValue:)) else {
            struct TrainFailed: Error, CustomStringConvertible { var description: String }
            throw TrainFailed(description: "ili train --registry failed (\(result.status)): \(result.stdout)\(result.stderr)")
        }
        return (id, path("files-posterior"))
    }
}

final class TrainValidateRegistryTests: ScratchDirectoryTestCase {
    /// The file-based workflow feeds the registry: `ili train --registry` records the
    /// simulations, a job and model version per member and the posterior (its directory
    /// carries the registry's ids); `ili validate --registry` records the verdict.
    func testTrainAndValidateRecordWhatTheyProduce() throws {
        let url = "sqlite:" + path("registry.db")
        let (id, directory) = try trainIntoRegistry(url, experiment: "files")
        let registry = try Registry(url: url)
        defer { registry.close() }
        let rounds = try registry.rounds(experiment: "files")
        XCTAssertEqual(rounds.map(\.strategy), ["files"])
        XCTAssertEqual(rounds.map(\.status), [.done])
        XCTAssertEqual(rounds[0].validSimulations, 400)
        XCTAssertEqual(try registry.trainingJobs(round: rounds[0].id).map(\.status), [.done])
        let manifest = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/posterior.json"))) as? [String: Any])
        XCTAssertEqual(manifest["posterior"] as? Int, Int(id.rawValue))
        XCTAssertEqual((manifest["members"] as? [[String: Any]])?.first?["modelVersion"] as? Int,
                       Int(try registry.posterior(id: id).members[0].modelVersion.rawValue))

        // A test set from the same model as the training data.
        var rng = RandomSource(seed: 8)
        let theta = Matrix<Double>(rows: 100, cols: 2) { _, _ in rng.uniform(in: -1.0, 1.0) }
        let x = Matrix<Double>(rows: 100, cols: 2) { i, j in theta[i, j] + 0.1 * rng.normal() }
        try NPYFile.write(theta, to: path("test_theta.npy"))
        try NPYFile.write(x, to: path("test_x.npy"))
        let validated = try BinaryRunner.run(["validate", "--posterior", directory, "--theta", path("test_theta.npy"), "--x", path("test_x.npy"),
                                              "--num-samples", "200", "--registry", url])
        XCTAssertTrue(validated.status == 0 || validated.status == 2, validated.stderr)
        XCTAssertTrue(validated.stdout.contains("recorded the verdict of posterior-\(id)"), validated.stdout)
        let verdict = try XCTUnwrap(try registry.validationResults(posterior: id).last)
        XCTAssertEqual(verdict.metric, "verdict")
        XCTAssertEqual(verdict.passed, validated.status == 0)
        XCTAssertEqual(try registry.posterior(id: id).calibrated, verdict.passed)

        // A directory that was never registered cannot be recorded.
        let unregistered = try BinaryRunner.run(["validate", "--posterior", try SmallPosteriors.directory("npe"), "--theta", path("test_theta.npy"),
                                                 "--x", path("test_x.npy"), "--num-samples", "50", "--registry", url, "--out", path("v")])
        XCTAssertEqual(unregistered.status, 1)
        XCTAssertTrue(unregistered.stderr.contains("was never registered"), unregistered.stderr)
    }
}
