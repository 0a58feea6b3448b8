import Foundation
import ILIRegistry
import ILITensor
import XCTest

/// `ili registry …` run as a real process against a SQLite registry the test fills
/// through the library.
final class RegistryCommandTests: ScratchDirectoryTestCase {
    private var url: String!
    private var posteriorId: Int64 = 0

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
        XCTAssertEqual(object["schemaVersion"] as? Int, 2)
    }
}
