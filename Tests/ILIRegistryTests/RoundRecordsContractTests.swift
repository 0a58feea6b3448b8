import Foundation
@testable import ILIRegistry
import ILITensor
import XCTest

/// What `ili run` records beyond the first schema, the same on both back ends: test-set
/// simulations apart from training ones, jobs claimed within a round, released and finished
/// with their model version in one transaction, validation results recorded together, and
/// posterior settings.
struct RoundRecordsContract {
    let backend: Backend

    func testSimulationsAreKeptApartFromTrainingOnes() throws {
        try withRegistry(backend) { registry, _ in
            let (_, round) = try seedExperiment(registry)
            var test = records(10..<13, prefix: "t")
            for k in test.indices { test[k].purpose = .test }
            try registry.appendSimulations(round: round.id, records(0..<5) + test, worker: "w")
            var failed = records(20..<21, prefix: "f")[0]
            failed.purpose = .test
            failed.x = []
            failed.valid = false
            failed.reason = "crashed"
            try registry.appendSimulations(round: round.id, [failed], worker: "w")
            let counted = try registry.round(id: round.id)
            XCTAssertEqual([counted.validSimulations, counted.invalidSimulations, counted.validTestSimulations, counted.invalidTestSimulations],
                           [5, 0, 3, 1])
            XCTAssertEqual(try registry.trainingData(experiment: "gauss", rounds: 0...0).count, 5)
            let testData = try registry.testData(experiment: "gauss", round: 0)
            XCTAssertEqual(testData.theta, test.flatMap(\.theta))
            XCTAssertEqual(try registry.storedTaskIds(round: round.id), Set((records(0..<5) + test + [failed]).map(\.taskId)))
            // Task numbers by prefix: only ids that are the prefix and digits.
            var numbered = records(30..<34)
            for (k, id) in ["gauss/r0/training/0", "gauss/r0/training/1", "gauss/r0/training/7x", "gauss/r0/test/1000"].enumerated() {
                numbered[k].taskId = id
            }
            try registry.appendSimulations(round: round.id, numbered, worker: "w")
            XCTAssertEqual(try registry.storedTaskNumbers(round: round.id, prefix: "gauss/r0/training/"), [0, 1])
            XCTAssertEqual(try registry.storedTaskNumbers(round: round.id, prefix: "gauss/r0/test/"), [1000])
            XCTAssertEqual(try registry.storedTaskNumbers(round: round.id, prefix: "gauss/r1/training/"), [])
            XCTAssertEqual(try registry.failureReasons(round: round.id).map(\.reason), ["crashed"])
        }
    }

    func testJobsAreClaimedWithinARoundReleasedAndFinishedWithTheirModelVersion() throws {
        try withRegistry(backend) { registry, _ in
            let (_, first) = try seedExperiment(registry)
            let second = try registry.openRound(experiment: "gauss", strategy: "posterior", targetCount: 5)
            let other = try registry.enqueueTrainingJob(round: first.id, member: 0)
            let mine = try registry.enqueueTrainingJob(round: second.id, member: 0)
            // Within round 2 only its own job is claimable, though round 1's is older.
            XCTAssertEqual(try registry.claimTrainingJob(worker: "a", round: second.id)?.id, mine.id)
            XCTAssertNil(try registry.claimTrainingJob(worker: "b", round: second.id))
            XCTAssertEqual(try registry.claimTrainingJob(worker: "b")?.id, other.id)

            // Released by holder: only that holder's jobs go back to the queue.
            XCTAssertEqual(try registry.releaseTrainingJobs(round: second.id, heldBy: "nobody"), 0)
            XCTAssertEqual(try registry.releaseTrainingJobs(round: second.id, heldBy: "a"), 1)
            XCTAssertEqual(try registry.trainingJob(id: mine.id).status, .queued)
            // Released for all (a coordinator resuming alone).
            XCTAssertEqual(try registry.releaseTrainingJobs(round: first.id, heldBy: nil), 1)
            XCTAssertEqual(try registry.trainingJob(id: other.id).claimedBy, nil)

            let job = try XCTUnwrap(try registry.claimTrainingJob(worker: "c", round: second.id))
            let spec = ModelVersionSpec(round: second.id, method: "NPE", estimator: #"{"kind": "maf"}"#, weights: [1, 2, 3],
                                        trainingSummary: #"{"epochs": 2}"#)
            // Someone else cannot finish it, and that leaves no model version behind.
            expectRegistryError(.jobNotHeld) { try registry.finishTrainingJob(id: job.id, worker: "d", registering: spec) }
            XCTAssertEqual(try registry.modelVersions(experiment: "gauss").count, 0)
            let (done, version) = try registry.finishTrainingJob(id: job.id, worker: "c", registering: spec)
            XCTAssertEqual(done.status, .done)
            XCTAssertEqual(done.modelVersion, version.id)
            XCTAssertEqual(version.weightsSHA256, SHA256.hex([1, 2, 3]))
            expectRegistryError(.jobNotHeld) { try registry.finishTrainingJob(id: job.id, worker: "c", registering: spec) }
            XCTAssertEqual(try registry.modelVersions(experiment: "gauss").count, 1)
        }
    }

    func testValidationResultsAreRecordedTogetherAndPosteriorsKeepTheirSettings() throws {
        try withRegistry(backend) { registry, _ in
            let (_, round) = try seedExperiment(registry)
            let model = try registry.registerModelVersion(ModelVersionSpec(round: round.id, method: "NLE", estimator: "{}", weights: [9]))
            let posterior = try registry.createPosterior(members: [(model.id, 1)], settings: #"{"sampler": {"chains": 8}}"#)
            XCTAssertEqual(JSONText.object(try registry.posterior(id: posterior.id).settings) as? [String: [String: Int]], ["sampler": ["chains": 8]])
            XCTAssertEqual(try registry.posteriors(round: round.id).map(\.id), [posterior.id])
            expectRegistryError(.invalidInput) { _ = try registry.createPosterior(members: [(model.id, 1)], settings: "{not json") }

            // A bad result refuses the whole batch.
            expectRegistryError(.invalidInput) {
                _ = try registry.recordValidations(posterior: posterior.id, [ValidationSpec(metric: "sbc", value: 0.3, passed: true),
                                                                             ValidationSpec(metric: "tarp", value: .nan, passed: true)])
            }
            XCTAssertEqual(try registry.validationResults(posterior: posterior.id).count, 0)
            let stored = try registry.recordValidations(posterior: posterior.id, [
                ValidationSpec(metric: "sbc", value: 0.3, passed: true), ValidationSpec(metric: "verdict", value: nil, passed: true),
            ])
            XCTAssertEqual(stored.map(\.metric), ["sbc", "verdict"])
            XCTAssertEqual(try registry.markCalibrated(posterior: posterior.id, verdict: stored[1].id).calibratedBy, stored[1].id)
        }
    }
}

final class SQLiteRoundRecordsTests: XCTestCase {
    let contract = RoundRecordsContract(backend: .sqlite)
    func testSimulationsAreKeptApartFromTrainingOnes() throws { try contract.testSimulationsAreKeptApartFromTrainingOnes() }
    func testJobsAreClaimedWithinARoundReleasedAndFinishedWithTheirModelVersion() throws {
        try contract.testJobsAreClaimedWithinARoundReleasedAndFinishedWithTheirModelVersion()
    }
    func testValidationResultsAreRecordedTogetherAndPosteriorsKeepTheirSettings() throws {
        try contract.testValidationResultsAreRecordedTogetherAndPosteriorsKeepTheirSettings()
    }
}

final class PostgresRoundRecordsTests: XCTestCase {
    let contract = RoundRecordsContract(backend: .postgres)
    override func setUpWithError() throws { try Backend.requirePostgres() }
    func testSimulationsAreKeptApartFromTrainingOnes() throws { try contract.testSimulationsAreKeptApartFromTrainingOnes() }
    func testJobsAreClaimedWithinARoundReleasedAndFinishedWithTheirModelVersion() throws {
        try contract.testJobsAreClaimedWithinARoundReleasedAndFinishedWithTheirModelVersion()
    }
    func testValidationResultsAreRecordedTogetherAndPosteriorsKeepTheirSettings() throws {
        try contract.testValidationResultsAreRecordedTogetherAndPosteriorsKeepTheirSettings()
    }
}
