import Foundation
import ILIRegistry
import XCTest

/// `ili registry show validation-N` shows a validation result, an id the tool prints itself.
final class RegistryShowValidationCommandTests: ScratchDirectoryTestCase {
    func testShowsAValidationResultByTheIdListingsPrint() throws {
        let url = "sqlite:" + path("registry.db")
        let registry = try Registry(url: url)
        _ = try registry.createExperiment(ExperimentSpec(name: "gauss", prior: "{}", thetaDimension: 2, xShape: [2]))
        let round = try registry.openRound(experiment: "gauss", strategy: "prior", targetCount: 1)
        let model = try registry.registerModelVersion(ModelVersionSpec(round: round.id, method: "NPE", estimator: "{}", weights: [1, 2]))
        let posterior = try registry.createPosterior(members: [(model.id, 1)])
        let result = try registry.recordValidation(posterior: posterior.id, ValidationSpec(
            metric: "tarp", value: 1.25, passed: true, details: #"{"area": -0.01}"#, plotFiles: ["tarp.svg"]))
        registry.close()

        var environment = ProcessInfo.processInfo.environment
        environment["ILI_REGISTRY"] = url
        let listed = try BinaryRunner.run(["registry", "show", "posterior-\(posterior.id)"], environment: environment)
        XCTAssertTrue(listed.stdout.contains("validation-\(result.id)"), listed.stdout)

        let shown = try BinaryRunner.run(["registry", "show", "validation-\(result.id)"], environment: environment)
        XCTAssertEqual(shown.status, 0, shown.stdout + shown.stderr)
        for expected in ["validation-\(result.id)", "posterior-\(posterior.id)", "tarp", "1.25", "tarp.svg", "-0.01"] {
            XCTAssertTrue(shown.stdout.contains(expected), "expected \(expected) in:\n\(shown.stdout)")
        }
        let json = try BinaryRunner.run(["registry", "show", "validation-\(result.id)", "--json"], environment: environment)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(object["id"] as? String, "validation-\(result.id)")
        XCTAssertEqual(object["posterior"] as? String, "posterior-\(posterior.id)")
        XCTAssertEqual(object["passed"] as? Bool, true)

        let missing = try BinaryRunner.run(["registry", "show", "validation-99"], environment: environment)
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("no validation result 99"), missing.stderr)
    }
}
