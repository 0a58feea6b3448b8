import Foundation
import ILIRegistry
import ILITensor
import XCTest

/// `inference.search` in `ili run`: each rung's trials are training jobs in the registry,
/// trained in-process or by the fleet's trainer workers alike, and the round's posterior is
/// the kept trials.
final class RunSearchCommandTests: ProcessTestCase {
    /// Four trials on a 2-D Gaussian-linear task; the two with learning rate 1e-8 cannot
    /// learn (an untrained spline flow scores about the prior's log-probability, which the
    /// others beat within 4 epochs), so successive halving stops them after rung 0.
    func writeConfiguration(name: String) throws -> String {
        let yaml = """
            experiment: \(name)
            simulator: {name: gaussian_linear, dimension: 2}
            inference:
              method: npe
              search:
                strategy: grid
                keep: 1
                rung_epochs: 4
                reduction: 2
                space: {model: nsf, learning_rate: [1e-8, 1e-3], hidden_features: [16, 24]}
            rounds: {count: 1, simulations_per_round: 1000}
            train: {max_epochs: 40}
            validation: {simulations: 100, samples: 200}
            registry: sqlite:\(name).db
            seed: 3
            """
        try yaml.write(toFile: path("\(name).yaml"), atomically: true, encoding: .utf8)
        return path("\(name).yaml")
    }

    /// A search job as the test reads it from the registry.
    struct SearchJob {
        var job: TrainingJob
        var trial: Int
        var rung: Int
        var choices: [String: String]
        var continuesFrom: Int64?
    }

    func searchJobs(_ registry: Registry, experiment: String) throws -> [SearchJob] {
        let round = try XCTUnwrap(try registry.rounds(experiment: experiment).first)
        return try registry.trainingJobs(round: round.id).map { job in
            let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(job.config.utf8)) as? [String: Any])
            let slot = try XCTUnwrap(object["search"] as? [String: Any], "job \(job.id) has no search slot: \(job.config)")
            let choices = try XCTUnwrap(slot["choices"] as? [[String: String]])
            return SearchJob(job: job, trial: try XCTUnwrap(slot["trial"] as? Int), rung: try XCTUnwrap(slot["rung"] as? Int),
                             choices: Dictionary(uniqueKeysWithValues: choices.map { ($0["key"]!, $0["value"]!) }),
                             continuesFrom: (object["continuesFrom"] as? NSNumber)?.int64Value)
        }
    }

    func testARoundSearchesThroughTheJobQueueKeepsTheBestAndShowsItsTrials() throws {
        let config = try writeConfiguration(name: "searched")
        let run = try BinaryRunner.run(["run", config, "--quiet"])
        XCTAssertEqual(run.status, 0, run.stdout + run.stderr)
        XCTAssertTrue(run.stdout.contains("1 of 1 rounds done"), run.stdout)

        let registry = try Registry(url: "sqlite:" + path("searched.db"))
        defer { registry.close() }
        let jobs = try searchJobs(registry, experiment: "searched")
        XCTAssertTrue(jobs.allSatisfy { $0.job.status == .done && $0.job.attempts == 1 }, "\(jobs.map(\.job))")
        // Rung 0: all four trials; rung 1: the two that can learn, each continuing its own
        // network; rung 2: the one left, trained until it converges.
        XCTAssertEqual(jobs.filter { $0.rung == 0 }.map(\.trial).sorted(), [0, 1, 2, 3])
        let rung1 = jobs.filter { $0.rung == 1 }
        XCTAssertEqual(rung1.count, 2)
        XCTAssertTrue(rung1.allSatisfy { $0.choices["learning_rate"] == "1e-3" }, "\(rung1.map(\.choices))")
        for job in rung1 {
            let start = try XCTUnwrap(jobs.first { $0.rung == 0 && $0.trial == job.trial }?.job.modelVersion)
            XCTAssertEqual(job.continuesFrom, start.rawValue, "rung 1 continues trial \(job.trial)'s rung-0 network")
        }
        let final = jobs.filter { $0.rung == 2 }
        XCTAssertEqual(final.count, 1)
        XCTAssertEqual(jobs.count, 7)

        // The posterior is the kept trial's network.
        let posterior = try XCTUnwrap(try registry.posteriors(experiment: "searched").last)
        XCTAssertEqual(posterior.members.count, 1)
        let keptTrial = final[0].trial
        let keptVersions = jobs.filter { $0.trial == keptTrial }.compactMap(\.job.modelVersion)
        XCTAssertTrue(keptVersions.contains(posterior.members[0].modelVersion))

        // The round directory holds the records and the plot.
        let roundDirectory = path("runs/searched/round-0")
        let records = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: roundDirectory + "/search.json"))) as? [[String: Any]])
        XCTAssertEqual(records.count, 4)
        for record in records {
            let lr = (record["choices"] as? [[String: String]])?.first { $0["key"] == "learning_rate" }?["value"]
            if lr == "1e-8" { XCTAssertEqual(record["stoppedAfterRung"] as? Int, 0, "\(record)") }
            XCTAssertEqual(record["member"] as? Int, (record["index"] as? Int) == keptTrial ? 0 : nil, "\(record)")
        }
        let plot = try String(contentsOfFile: roundDirectory + "/search.svg", encoding: .utf8)
        XCTAssertEqual(plot.components(separatedBy: "class=\"kept-trial\"").count - 1, 3, "one kept point in each of 3 panels")

        // ili registry trials lists every job and plots the round.
        let listing = try BinaryRunner.run(["registry", "trials", "--experiment", "searched", "--registry", "sqlite:" + path("searched.db"),
                                            "--plot", path("trials.svg")])
        XCTAssertEqual(listing.status, 0, listing.stderr)
        XCTAssertEqual(listing.stdout.split(separator: "\n").filter { $0.hasPrefix("job-") }.count, 7, listing.stdout)
        XCTAssertNotNil(listing.stdout.range(of: #"job-\d+\s+0\s+\d\s+2\s+model=nsf learning_rate=1e-3 hidden_features=\d+\s+\d+\s+-?[0-9.]+\s+done\s+0"#,
                                             options: .regularExpression), listing.stdout)
        XCTAssertTrue(try String(contentsOfFile: path("trials.svg"), encoding: .utf8).contains("kept-trial"))

        // The kept posterior is the Gaussian-linear one: mean x/2.
        try NPYFile.write(Matrix<Double>([[1.0, -0.6]]), to: path("xo.npy"))
        let sampled = try BinaryRunner.run(["sample", "--posterior", roundDirectory, "--obs", path("xo.npy"), "--num-samples", "4000",
                                            "--out", path("samples.npy"), "--seed", "1"])
        XCTAssertEqual(sampled.status, 0, sampled.stderr)
        let samples = try NPYFile.read(path("samples.npy")).values
        XCTAssertEqual(samples.rows, 4000)
        for (d, expected) in [0.5, -0.3].enumerated() {
            let mean = (0..<samples.rows).map { samples[$0, d] }.reduce(0, +) / Double(samples.rows)
            XCTAssertEqual(mean, expected, accuracy: 0.15, "posterior mean of θ\(d)")
        }
    }

    /// The same search with a trainer worker taking every job: the same trials go on and the
    /// posterior's network is the same bits as the one trained in-process.
    func testTheFleetsTrainerRunsTheSearchJobsAndKeepsTheSameNetwork() throws {
        let alone = try BinaryRunner.run(["run", try writeConfiguration(name: "alone"), "--quiet"])
        XCTAssertEqual(alone.status, 0, alone.stdout + alone.stderr)

        let config = try writeConfiguration(name: "fleet")
        let endpoint = "ipc://" + path("coordinator.sock")
        let coordinator = try start(["run", config, "--bind", endpoint, "--local-workers", "1", "--heartbeat", "0.2"], log: "coordinator.log")
        try start(["train-worker", "--connect", endpoint, "--registry", "sqlite:" + path("fleet.db"), "--name", "trainer-1", "--poll", "0.5"],
                  log: "trainer.log")
        let deadline = Date().addingTimeInterval(300)
        while coordinator.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.2) }
        XCTAssertFalse(coordinator.isRunning, "the coordinator is still running after 300 s: \(log("coordinator.log"))")
        XCTAssertEqual(coordinator.terminationStatus, 0, log("coordinator.log") + log("trainer.log"))

        let inProcess = try Registry(url: "sqlite:" + path("alone.db"))
        let fleet = try Registry(url: "sqlite:" + path("fleet.db"))
        defer { inProcess.close(); fleet.close() }
        let fleetJobs = try searchJobs(fleet, experiment: "fleet")
        XCTAssertEqual(Set(fleetJobs.map(\.job.claimedBy)), ["trainer-1"], "the trainer worker trained every trial")
        let aloneJobs = try searchJobs(inProcess, experiment: "alone")
        XCTAssertEqual(fleetJobs.map { "\($0.rung)/\($0.trial)" }.sorted(), aloneJobs.map { "\($0.rung)/\($0.trial)" }.sorted())
        func keptWeights(_ registry: Registry, _ experiment: String) throws -> String {
            let posterior = try XCTUnwrap(try registry.posteriors(experiment: experiment).last)
            return try registry.modelVersion(id: posterior.members[0].modelVersion).weightsSHA256
        }
        XCTAssertEqual(try keptWeights(fleet, "fleet"), try keptWeights(inProcess, "alone"))
    }
}
