import Foundation
import ILIInference
import ILIRegistry
@testable import ILIRounds
import XCTest

/// `inference.search` in rounds: stopped mid-search and resumed, a run trains no finished
/// rung again and keeps the network an uninterrupted run keeps.
final class RoundSearchTests: RoundsTestCase {
    func searchConfiguration(_ name: String) throws -> ExperimentConfiguration {
        try configuration("""
            experiment: moons
            simulator: two_moons
            inference:
              method: npe
              search:
                strategy: grid
                keep: 2
                rung_epochs: 3
                reduction: 2
                space: {model: [maf, mdn], hidden_features: [12, 20], num_transforms: 2}
            rounds: {count: 1, simulations_per_round: 600}
            train: {max_epochs: 12, batch_size: 100}
            validation: {simulations: 30, samples: 100}
            seed: 5
            out: \(name)
            """, name: "\(name).yaml")
    }

    func keptWeights(_ registry: Registry) throws -> [String] {
        let posterior = try XCTUnwrap(try registry.posteriors(experiment: "moons").last)
        return try posterior.members.map { try registry.modelVersion(id: $0.modelVersion).weightsSHA256 }
    }

    func testAStoppedSearchResumesWithoutRetrainingFinishedRungsAndKeepsTheSameNetworks() throws {
        let whole = try ExperimentRunner.prepare(try searchConfiguration("whole"))
        XCTAssertEqual(try whole.run().roundsDone, 1)
        let expected = try keptWeights(whole.registry)
        XCTAssertEqual(expected.count, 2)
        let expectedRecords = try XCTUnwrap(whole.searchRecords[0])
        // Each kept trial's network is the one from its best rung: a later rung that beat
        // nothing it had keeps the earlier network.
        let wholeRound = try XCTUnwrap(try whole.registry.rounds(experiment: "moons").first)
        var best: [Int: (score: Double, version: ModelVersionID)] = [:]
        for job in try whole.registry.trainingJobs(round: wholeRound.id) {
            let slot = try XCTUnwrap(try RegistryMapping.storedJob(job).search)
            let version = try XCTUnwrap(job.modelVersion)
            let score = try RegistryMapping.record(of: try whole.registry.modelVersion(id: version)).summary.bestValidationScore
            if let previous = best[slot.trial], previous.score > score { continue }
            best[slot.trial] = (score, version)
        }
        // Messages name a search job by its trial and rung, not its registry number.
        let lastJob = try XCTUnwrap(try whole.registry.trainingJobs(round: wholeRound.id).last)
        XCTAssertTrue(lastJob.trainedUnit.hasPrefix("search trial ") && lastJob.trainedUnit.hasSuffix(", rung 1"), lastJob.trainedUnit)
        XCTAssertTrue(lastJob.trainedUnit.contains("model="), lastJob.trainedUnit)
        let keptInOrder = expectedRecords.filter { $0.member != nil }.sorted { $0.member! < $1.member! }.map(\.index)
        let posterior = try XCTUnwrap(try whole.registry.posteriors(experiment: "moons").last)
        XCTAssertEqual(posterior.members.map(\.modelVersion), keptInOrder.map { best[$0]!.version })
        whole.registry.close()

        // Stopped in rung 1 (rung 0 is 4 trials × 3 epochs).
        let config = try searchConfiguration("stopped")
        let stop = StopSignal()
        let observer = RecordingObserver(stop: stop)
        observer.stopAfterEpochs = 14
        let first = try ExperimentRunner.prepare(config, observer: observer, stop: stop)
        XCTAssertNotNil(try first.run().stoppedBecause)
        let round = try XCTUnwrap(try first.registry.rounds(experiment: "moons").first)
        let rung0 = try first.registry.trainingJobs(round: round.id).filter { $0.member < 4 }
        XCTAssertEqual(rung0.map(\.status), [.done, .done, .done, .done])
        XCTAssertTrue(try first.registry.trainingJobs(round: round.id).contains { $0.member >= 4 && $0.status != .done },
                      "stopped during rung 1")
        first.registry.close()

        let second = try ExperimentRunner.prepare(config)
        XCTAssertEqual(try second.run().roundsDone, 1)
        let jobs = try second.registry.trainingJobs(round: round.id)
        XCTAssertTrue(jobs.allSatisfy { $0.status == .done })
        for job in rung0 {
            let after = try XCTUnwrap(jobs.first { $0.id == job.id })
            XCTAssertEqual(after.attempts, 1, "rung 0's job \(job.member) was not trained again")
            XCTAssertEqual(after.modelVersion, job.modelVersion)
        }
        XCTAssertEqual(try keptWeights(second.registry), expected)
        XCTAssertEqual(second.searchRecords[0]?.map(\.scores), expectedRecords.map(\.scores))
        second.registry.close()

        // A runner that trained nothing (the round is done) replays the search from the
        // registry: the same records as the run that trained it.
        let third = try ExperimentRunner.prepare(config)
        let replayed = try XCTUnwrap(try third.searchOutcome(round))
        XCTAssertEqual(replayed.map(\.scores), expectedRecords.map(\.scores))
        XCTAssertEqual(replayed.map(\.member), expectedRecords.map(\.member))
        XCTAssertEqual(replayed.map(\.stoppedAfterRung), expectedRecords.map(\.stoppedAfterRung))
        third.registry.close()
    }
}
