import Foundation
@testable import ILIRegistry
@testable import ILIRounds
import XCTest

final class RoundPlannerTests: XCTestCase {
    func round(_ index: Int, _ status: RoundStatus) -> Round {
        Round(id: RoundID(rawValue: Int64(index + 10)), experimentId: 1, index: index, strategy: "prior", proposal: "{}", targetCount: 5, status: status,
              failure: nil, validSimulations: 0, invalidSimulations: 0, validTestSimulations: 0, invalidTestSimulations: 0,
              createdAt: Date(), updatedAt: Date(), finishedAt: nil)
    }

    func testANewExperimentOpensItsFirstRound() {
        XCTAssertEqual(RoundPlanner.next(rounds: [], wanted: 3), .open(index: 0, position: 0))
    }

    func testAnUnfinishedRoundIsCarriedOnWhateverItsPhase() {
        for status in [RoundStatus.planned, .simulating, .training, .validating] {
            let rounds = [round(0, .done), round(1, status)]
            XCTAssertEqual(RoundPlanner.next(rounds: rounds, wanted: 3), .resume(rounds[1], position: 1), "\(status)")
        }
    }

    func testDoneRoundsCountAndFailedOnesAreReplaced() {
        XCTAssertEqual(RoundPlanner.next(rounds: [round(0, .done), round(1, .failed)], wanted: 2), .open(index: 2, position: 1))
        XCTAssertEqual(RoundPlanner.next(rounds: [round(0, .done), round(1, .failed), round(2, .done)], wanted: 2), .finished)
        // A larger count adds rounds to a finished experiment.
        XCTAssertEqual(RoundPlanner.next(rounds: [round(0, .done), round(1, .done)], wanted: 3), .open(index: 2, position: 2))
    }

    func testChunksCoverTheTargetThenAddATenthAtATime() {
        XCTAssertEqual(ExperimentRunner.chunk(0, target: 1000), 0..<1000)
        XCTAssertEqual(ExperimentRunner.chunk(1, target: 1000), 1000..<1100)
        XCTAssertEqual(ExperimentRunner.chunk(2, target: 1000), 1100..<1200)
        XCTAssertEqual(ExperimentRunner.chunk(1, target: 30), 30..<40)
    }

    func testDerivedSeedsDependOnEveryPart() {
        let a = Seeds.derive(1, "theta-train", 0, 0)
        XCTAssertEqual(a, Seeds.derive(1, "theta-train", 0, 0))
        XCTAssertEqual(Set([a, Seeds.derive(2, "theta-train", 0, 0), Seeds.derive(1, "theta-test", 0, 0),
                            Seeds.derive(1, "theta-train", 1, 0), Seeds.derive(1, "theta-train", 0, 1)]).count, 5)
    }
}
