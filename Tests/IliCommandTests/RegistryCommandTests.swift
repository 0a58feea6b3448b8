import Foundation
import ILIRegistry
import ILITensor
import XCTest

/// `ili registry …` run as a real process against a SQLite registry the test fills
/// through the library.
final class RegistryCommandTests: ScratchDirectoryTestCase {
    private var url: String!
    private var posteriorId: PosteriorID = 0

    override func setUpWithError() throws {
        try super.setUpWithError()
        url = "sqlite:" + path("registry.db")
        let registry = try Registry(url: url)
        defer { registry.close() }
        _ = try registry.createExperiment(ExperimentSpec(name: "gauss", prior: #"{"normal": [0, 1]}"#, thetaDimension: 2, xShape: [3]))
        let round = try registry.openRound(experiment: "gauss", strategy: "prior", targetCount: 5)
        try registry.advanceRound(id: round.id, to: .simulating)
        try registry.appendSimulations(round: round.id, (0..<5).map {
            SimulationRecord(taskId: "t\($0)", theta: [Float($0), 1], x: [1, 2, 3])
        }, worker: "w")
        let model = try registry.registerModelVersion(ModelVersionSpec(round: round.id, method: "NPE", estimator: #"{"flow": "maf"}"#,
                                                                       weights: Array("weights".utf8)))
        let posterior = try registry.createPosterior(members: [(model.id, 1)])
        posteriorId = posterior.id
        let verdict = try registry.recordValidation(posterior: posterior.id, ValidationSpec(metric: "coverage", value: 0.94, passed: true))
        try registry.markCalibrated(posterior: posterior.id, verdict: verdict.id)
    }

    private func ili(_ arguments: [String], registryFromEnvironment: Bool = false) throws -> BinaryRunner.Result {
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "ILI_REGISTRY")
        if registryFromEnvironment { env["ILI_REGISTRY"] = url }
        return try BinaryRunner.run(["registry"] + arguments + (registryFromEnvironment ? [] : ["--registry", url]), environment: env)
    }

    func testListingsShowWhatTheLibraryStored() throws {
        let experiments = try ili(["experiments"], registryFromEnvironment: true)
        XCTAssertEqual(experiments.status, 0, experiments.stderr)
        XCTAssertTrue(experiments.stdout.contains("experiment-1") && experiments.stdout.contains("gauss"), experiments.stdout)

        let rounds = try ili(["rounds", "--experiment", "gauss"])
        XCTAssertNotNil(rounds.stdout.range(of: #"round-1\s+0\s+simulating\s+prior\s+5\s+0\s+5"#, options: .regularExpression), rounds.stdout)

        let models = try ili(["models", "--experiment", "gauss", "--json"])
        let modelList = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(models.stdout.utf8)) as? [[String: Any]])
        XCTAssertEqual(modelList.first?["weightsSHA256"] as? String, SHA256.hex(Array("weights".utf8)))

        let posteriors = try ili(["posteriors", "--experiment", "gauss", "--calibrated"])
        XCTAssertNotNil(posteriors.stdout.range(of: #"posterior-\#(posteriorId)\s+0\s+NPE\s+1\s+yes"#, options: .regularExpression), posteriors.stdout)
    }

    func testShowAndLatest() throws {
        let latest = try ili(["latest", "--experiment", "gauss", "--calibrated", "--json"])
        XCTAssertEqual(latest.status, 0, latest.stderr)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(latest.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(object["id"] as? String, "posterior-\(posteriorId)")
        XCTAssertEqual(object["calibrated"] as? Bool, true)
        XCTAssertEqual((object["validation"] as? [[String: Any]])?.first?["metric"] as? String, "coverage")

        let show = try ili(["show", "posterior-\(posteriorId)"])
        XCTAssertTrue(show.stdout.contains("calibrated") && show.stdout.contains("coverage") && show.stdout.contains("model-1"), show.stdout)
        let byName = try ili(["show", "gauss"])
        XCTAssertTrue(byName.stdout.contains("experiment-1") && byName.stdout.contains("[3]"), byName.stdout)

        let missing = try ili(["show", "model-99"])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("no model version 99"), missing.stderr)
        let unknown = try ili(["latest", "--experiment", "nope"])
        XCTAssertEqual(unknown.status, 1)
        XCTAssertTrue(unknown.stderr.contains("no experiment named nope"), unknown.stderr)
    }

    func testExportingAModelVersionIliDidNotWriteSaysSo() throws {
        // The fixture's model version holds the bytes "weights" and estimator {"flow": "maf"}.
        let out = directory.appendingPathComponent("exported")
        let result = try ili(["export", "posterior-\(posteriorId)", out.path])
        XCTAssertEqual(result.status, 1, result.stdout)
        XCTAssertTrue(result.stderr.contains("model version 1's estimator") && result.stderr.contains("not what ili writes"), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path))
    }

    func testAMissingRegistryAndAnUnreachableOneAreExplainedWithoutThePassword() throws {
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "ILI_REGISTRY")
        let none = try BinaryRunner.run(["registry", "experiments"], environment: env)
        XCTAssertNotEqual(none.status, 0)
        XCTAssertTrue(none.stderr.contains("--registry") && none.stderr.contains("ILI_REGISTRY"), none.stderr)

        let down = try BinaryRunner.run(["registry", "init", "--registry", "postgresql://ili:topsecret@127.0.0.1:1/ili"], environment: env)
        XCTAssertEqual(down.status, 1)
        XCTAssertTrue(down.stderr.contains("registry unavailable"), down.stderr)
        XCTAssertFalse(down.stderr.contains("topsecret") || down.stdout.contains("topsecret"))
        XCTAssertTrue(down.stderr.contains("ili:***@127.0.0.1:1"), down.stderr)
    }

    func testInitReportsTheSchemaVersion() throws {
        let result = try ili(["init", "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(object["schemaVersion"] as? Int, 3)
    }

    /// `--json` on every subcommand prints one JSON document that says what the text does.
    func testEverySubcommandPrintsJSON() throws {
        let registry = try Registry(url: url)
        let round = try registry.rounds(experiment: "gauss")[0]
        let job = try registry.enqueueTrainingJob(round: round.id, member: 0, config: #"{"seed": 3}"#)
        let model = try registry.modelVersions(experiment: "gauss")[0]
        registry.close()

        func json(_ arguments: [String]) throws -> Any {
            let result = try ili(arguments + ["--json"])
            XCTAssertEqual(result.status, 0, "\(arguments): \(result.stderr)")
            return try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))
        }
        let initialised = try XCTUnwrap(try json(["init"]) as? [String: Any])
        XCTAssertEqual(initialised["schemaVersion"] as? Int, 3)
        let experiments = try XCTUnwrap(try json(["experiments"]) as? [[String: Any]])
        XCTAssertEqual(experiments.map { $0["name"] as? String }, ["gauss"])
        XCTAssertEqual(experiments.first?["thetaDimension"] as? Int, 2)
        let rounds = try XCTUnwrap(try json(["rounds", "--experiment", "gauss"]) as? [[String: Any]])
        XCTAssertEqual(rounds.first?["status"] as? String, "simulating")
        XCTAssertEqual(rounds.first?["validSimulations"] as? Int, 5)
        let models = try XCTUnwrap(try json(["models", "--experiment", "gauss"]) as? [[String: Any]])
        XCTAssertEqual(models.first?["id"] as? String, "model-\(model.id)")
        let posteriors = try XCTUnwrap(try json(["posteriors", "--experiment", "gauss"]) as? [[String: Any]])
        XCTAssertEqual(posteriors.map { $0["id"] as? String }, ["posterior-\(posteriorId)"])
        let latest = try XCTUnwrap(try json(["latest", "--experiment", "gauss"]) as? [String: Any])
        XCTAssertEqual(latest["id"] as? String, "posterior-\(posteriorId)")

        let experiment = try XCTUnwrap(try json(["show", "gauss"]) as? [String: Any])
        XCTAssertEqual((experiment["rounds"] as? [[String: Any]])?.count, 1)
        XCTAssertEqual((try json(["show", "experiment-\(round.experimentId)"]) as? [String: Any])?["name"] as? String, "gauss")
        let shownRound = try XCTUnwrap(try json(["show", "round-\(round.id)"]) as? [String: Any])
        XCTAssertEqual((shownRound["trainingJobs"] as? [[String: Any]])?.first?["id"] as? String, "job-\(job.id)")
        XCTAssertEqual((try json(["show", "model-\(model.id)"]) as? [String: Any])?["weightsSHA256"] as? String, model.weightsSHA256)
        let shownPosterior = try XCTUnwrap(try json(["show", "posterior-\(posteriorId)"]) as? [String: Any])
        XCTAssertEqual(shownPosterior["calibrated"] as? Bool, true)
        let shownJob = try XCTUnwrap(try json(["show", "job-\(job.id)"]) as? [String: Any])
        XCTAssertEqual(shownJob["status"] as? String, "queued")
        XCTAssertEqual((shownJob["config"] as? [String: Any])?["seed"] as? Int, 3)

        // export --json is checked with a real posterior, in the export-and-sample test below.
        let bench = try XCTUnwrap(try json(["bench", "--pairs", "20", "--batch", "10", "--repeats", "1"]) as? [String: Any])
        XCTAssertEqual(bench["pairs"] as? Int, 20)
        XCTAssertEqual((bench["ingestPairsPerSecond"] as? [Double])?.count, 1)
    }

    /// A posterior trained by `ili train`, stored in the registry through the library and
    /// exported by `ili registry export`, samples exactly as the directory it came from.
    /// (NPE: an exported NLE or NRE posterior would lose the sampler and ratio settings
    /// that `ili train` writes beside the members.)
    func testAnExportedPosteriorSamplesAsTheTrainedDirectoryDoes() throws {
        var rng = RandomSource(seed: 1)
        let theta = Matrix<Double>(rows: 600, cols: 2) { _, _ in rng.uniform(in: -1.0, 1.0) }
        let x = Matrix<Float>(rows: 600, cols: 3) { i, j in Float(theta[i, j % 2] + 0.1 * rng.normal()) }
        try NPYFile.write(theta, to: path("theta.npy"))
        try NPYFile.write(x, to: path("x.npy"))
        try NPYFile.write(Matrix<Float>([[0.2, -0.3, 0.2], [0.5, 0.5, 0.5]]), to: path("obs.npy"))
        try """
            prior:
              uniform: {low: [-1, -1], high: [1, 1]}
            data: {theta: theta.npy, x: x.npy}
            inference:
              method: npe
              estimators:
                - {model: maf, hidden_features: 20, num_transforms: 2}
                - {model: mdn, num_components: 3}
            train: {batch_size: 100, max_epochs: 3}
            seed: 7
            out: trained
            """.write(toFile: path("run.yaml"), atomically: true, encoding: .utf8)
        let train = try BinaryRunner.run(["train", path("run.yaml"), "--quiet"])
        XCTAssertEqual(train.status, 0, train.stdout + train.stderr)

        // Into the registry: the experiment with the trained prior, one model version per
        // member with its estimator and weights file, and the posterior with its weights.
        let manifest = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("trained/posterior.json")))) as? [String: Any])
        func text(_ object: Any) throws -> String { String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self) }
        let registry = try Registry(url: url)
        _ = try registry.createExperiment(ExperimentSpec(name: "trained", prior: try text(try XCTUnwrap(manifest["prior"])),
                                                         thetaDimension: 2, xShape: [3]))
        let round = try registry.openRound(experiment: "trained", strategy: "prior", targetCount: 600)
        let members = try XCTUnwrap(manifest["members"] as? [[String: Any]])
        XCTAssertEqual(members.count, 2)
        var stored: [(ModelVersionID, Double)] = []
        for (k, member) in members.enumerated() {
            let weights = try Data(contentsOf: URL(fileURLWithPath: path("trained/" + (try XCTUnwrap(member["weights"] as? String)))))
            let version = try registry.registerModelVersion(ModelVersionSpec(
                round: round.id, method: "NPE", estimator: try text(try XCTUnwrap(member["estimator"])), member: k, weights: [UInt8](weights)))
            stored.append((version.id, try XCTUnwrap(member["weight"] as? Double)))
        }
        let posterior = try registry.createPosterior(members: stored)
        registry.close()

        let export = try ili(["export", "posterior-\(posterior.id)", path("exported"), "--json"])
        XCTAssertEqual(export.status, 0, export.stderr)
        let exported = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(export.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(exported["files"] as? [String], ["posterior.json", "training.json", "members/0.safetensors", "members/1.safetensors"])
        for (name, directory) in [("a", "trained"), ("b", "exported")] {
            let sampled = try BinaryRunner.run(["sample", "--posterior", path(directory), "--obs", path("obs.npy"),
                                                "--num-samples", "400", "--out", path("\(name).npy"), "--seed", "4"])
            XCTAssertEqual(sampled.status, 0, "\(directory): " + sampled.stdout + sampled.stderr)
        }
        let fromTraining = try NPYFile.read(path("a.npy")), fromExport = try NPYFile.read(path("b.npy"))
        XCTAssertEqual(fromExport.shape, [800, 2])
        XCTAssertEqual(fromExport.values, fromTraining.values, "same seed, same samples from the export as from the trained directory")
    }
}
