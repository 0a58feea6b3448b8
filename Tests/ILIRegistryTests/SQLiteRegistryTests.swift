import XCTest

/// The registry contract on a temporary SQLite file per test.
final class SQLiteRegistryTests: XCTestCase {
    private let contract = RegistryContract(backend: .sqlite)

    func testMigrationIsAppliedOnceAndReopeningIsHarmless() throws { try contract.migrationIsAppliedOnceAndReopeningIsHarmless() }
    func testASchemaNewerThanThisBinaryIsRefused() throws { try contract.aSchemaNewerThanThisBinaryIsRefused() }
    func testClosingDisconnectsAndTheNextCallConnectsAgain() throws { try contract.closingDisconnectsAndTheNextCallConnectsAgain() }
    func testConcurrentFirstConnectionsMigrateOnce() throws { try contract.concurrentFirstConnectionsMigrateOnce() }
    func testExperimentsAreCreatedFoundAndListed() throws { try contract.experimentsAreCreatedFoundAndListed() }
    func testRoundsFollowTheirStateMachine() throws { try contract.roundsFollowTheirStateMachine() }
    func testAppendedPairsReadBackExactlyForTheirRoundsOnly() throws { try contract.appendedPairsReadBackExactlyForTheirRoundsOnly() }
    func testTrainingReadsUseTheRoundIndex() throws { try contract.trainingReadsUseTheRoundIndex() }
    func testRetriedBatchStoresNothingTwice() throws { try contract.retriedBatchStoresNothingTwice() }
    func testBadInputIsRefusedWithTheTaskNamedAndNothingStored() throws { try contract.badInputIsRefusedWithTheTaskNamedAndNothingStored() }
    func testABatchThatFailsHalfwayLeavesNoRows() throws { try contract.aBatchThatFailsHalfwayLeavesNoRows() }
    func testTwoWritersAppendingTheSameTasksLoseAndDuplicateNothing() throws { try contract.twoWritersAppendingTheSameTasksLoseAndDuplicateNothing() }
    func testAWriterKilledMidBatchLeavesNoRows() throws { try contract.aWriterKilledMidBatchLeavesNoRows() }
    func testTwoProcessesAppendingTheSameTasksLoseAndDuplicateNothing() throws { try contract.twoProcessesAppendingTheSameTasksLoseAndDuplicateNothing() }
    func testCrossedBatchesSurviveADeadlock() throws { try contract.crossedBatchesSurviveADeadlock() }
    func testModelVersionsKeepTheirWeightsAndChecksums() throws { try contract.modelVersionsKeepTheirWeightsAndChecksums() }
    func testOnlyAStoredPassingVerdictMakesAPosteriorCalibrated() throws { try contract.onlyAStoredPassingVerdictMakesAPosteriorCalibrated() }
    func testTwoTrainersNeverClaimTheSameJob() throws { try contract.twoTrainersNeverClaimTheSameJob() }
    func testAStaleJobIsReclaimedAndItsFormerHolderIsTold() throws { try contract.aStaleJobIsReclaimedAndItsFormerHolderIsTold() }
    func testWorkersAreRegisteredAndHeartbeat() throws { try contract.workersAreRegisteredAndHeartbeat() }
    func testAsyncCallersRunOffTheCooperativePool() async throws { try await contract.asyncCallersRunOffTheCooperativePool() }
}
