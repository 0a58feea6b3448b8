@testable import ILIFleet
import ILIRounds
import XCTest

/// Drives the coordinator's state machine with events and a hand-set clock.
final class CoordinatorStateMachineTests: XCTestCase {
    let experiment = ExperimentInfo(name: "e", thetaDim: 2, xShape: [3], prior: nil)
    let a = PeerID([1]), b = PeerID([2]), t = PeerID([3])
    var machine: CoordinatorStateMachine!
    var now = 0.0

    override func setUp() {
        var settings = CoordinatorSettings()
        settings.batchSize = 10
        settings.maxCredit = 4
        settings.taskTimeout = 30
        settings.heartbeatInterval = 1
        settings.workerTimeout = 5
        settings.maxAttempts = 2
        machine = CoordinatorStateMachine(experiment: experiment, settings: settings)
        now = 0
    }

    @discardableResult
    func handle(_ event: CoordinatorStateMachine.Event) -> [CoordinatorStateMachine.Action] {
        machine.handle(event, now: now)
    }

    @discardableResult
    func hello(_ peer: PeerID, kind: FleetWorkerKind = .simulator, credit: Int = 1) -> [CoordinatorStateMachine.Action] {
        handle(.message(peer, .hello(Hello(worker: "w\(peer.bytes[0])", kind: kind, credit: credit))))
    }

    func tasks(_ n: Int, round: Int = 0, unsolicited: Bool = false) -> SimulationRun {
        SimulationRun(round: round, purpose: "train", acceptsUnsolicited: unsolicited,
                      tasks: (0..<n).map { SimulationTask(taskId: "t\($0)", theta: [Double($0), 0.5], seed: UInt64($0)) })
    }

    func sentTasks(_ actions: [CoordinatorStateMachine.Action]) -> [(PeerID, TaskBatch)] {
        actions.compactMap { if case .send(let p, .task(let batch)) = $0 { return (p, batch) } else { return nil } }
    }

    func delivered(_ actions: [CoordinatorStateMachine.Action]) -> [SimulationOutcome] {
        actions.flatMap { action -> [SimulationOutcome] in if case .deliver(let o, _) = action { return o } else { return [] } }
    }

    func errors(_ actions: [CoordinatorStateMachine.Action], to peer: PeerID) -> [FleetErrorCode] {
        actions.compactMap { if case .send(let p, .error(let e)) = $0, p == peer { return e.code } else { return nil } }
    }

    func result(for batch: TaskBatch, failing: Set<String> = [], width: Int = 3) -> FleetMessage {
        .result(ResultBatch(batch: batch.batch, taskIds: batch.taskIds, failures: batch.taskIds.map { failing.contains($0) ? "boom" : nil },
                            x: FleetArray(float32: batch.taskIds.indices.flatMap { i in (0..<width).map { Float(i * 10 + $0) } },
                                          shape: [batch.taskIds.count, width])))
    }

    func testHelloIsWelcomedWithTheExperimentsShapes() {
        let actions = hello(a)
        XCTAssertTrue(actions.contains(.workerJoined(.init(peer: a, name: "w1", kind: .simulator, capabilities: [:]))))
        guard case .send(a, .welcome(let w))? = actions.last else { return XCTFail("no welcome: \(actions)") }
        XCTAssertEqual(w.thetaDim, 2)
        XCTAssertEqual(w.xShape, [3])
        XCTAssertEqual(w.heartbeatMs, 1000)
        XCTAssertEqual(w.timeoutMs, 5000)
    }

    func testCreditBoundsTheBatchesAWorkerHolds() {
        hello(a, credit: 3)
        hello(b, credit: 100)   // capped at maxCredit 4
        let sent = sentTasks(handle(.submit(tasks(200))))
        XCTAssertEqual(sent.filter { $0.0 == a }.count, 3)
        XCTAssertEqual(sent.filter { $0.0 == b }.count, 4)
        XCTAssertEqual(sent.count * 10, machine.inFlightTaskCount)
        XCTAssertEqual(sent[0].1.theta.shape, [10, 2])
        XCTAssertEqual(sent[0].1.seeds.count, 10)
        // One result frees one credit: exactly one more batch goes to that worker.
        let (peer, batch) = sent.first { $0.0 == a }!
        let after = handle(.message(peer, result(for: batch)))
        XCTAssertEqual(delivered(after).count, 10)
        XCTAssertEqual(sentTasks(after).map(\.0), [a])
    }

    func testResultsAreDeliveredByTaskIdAndFailuresArePerRow() {
        hello(a)
        let (_, batch) = sentTasks(handle(.submit(tasks(3))))[0]
        let actions = handle(.message(a, result(for: batch, failing: ["t1"])))
        let outcomes = delivered(actions)
        XCTAssertEqual(outcomes.map(\.taskId), ["t0", "t1", "t2"])
        XCTAssertEqual(outcomes[0].x, [0, 1, 2])
        XCTAssertNil(outcomes[1].x)
        XCTAssertEqual(outcomes[1].failure, "w1: boom")
        XCTAssertEqual(outcomes[2].x, [20, 21, 22])
        XCTAssertEqual(machine.outstandingCount, 0)
        // The acknowledgement waits for the commit.
        guard case .deliver(_, let acks)? = actions.first(where: { if case .deliver = $0 { return true } else { return false } }) else { return XCTFail() }
        XCTAssertFalse(actions.contains { if case .send(_, .ack) = $0 { return true } else { return false } })
        XCTAssertEqual(handle(.committed(acks)), [.send(a, .ack(Ack(batch: batch.batch, accepted: 3, duplicates: 0)))])
    }

    func testADuplicateResultIsDroppedAndCounted() {
        hello(a)
        let (_, batch) = sentTasks(handle(.submit(tasks(5))))[0]
        XCTAssertEqual(delivered(handle(.message(a, result(for: batch)))).count, 5)
        let again = handle(.message(a, result(for: batch)))
        XCTAssertEqual(delivered(again).count, 0)
        XCTAssertEqual(machine.counters.duplicatesDropped, 5)
    }

    func testAVanishedWorkersBatchGoesToAnotherAndItsLateResultIsADuplicate() {
        hello(a)
        let first = sentTasks(handle(.submit(tasks(10))))
        XCTAssertEqual(first.map(\.0), [a])
        hello(b)
        // b keeps talking; a is silent past the worker timeout.
        now = 3
        handle(.message(b, .heartbeat(Heartbeat())))
        now = 5.5
        let actions = handle(.tick)
        XCTAssertTrue(actions.contains { if case .workerLeft(let w, _) = $0 { return w.peer == a } else { return false } })
        let resent = sentTasks(actions)
        XCTAssertEqual(resent.map(\.0), [b])
        XCTAssertEqual(resent[0].1.taskIds, first[0].1.taskIds)
        XCTAssertEqual(delivered(handle(.message(b, result(for: resent[0].1)))).count, 10)
        // a comes back with its old result: it must say hello again, and nothing is delivered twice.
        XCTAssertEqual(errors(handle(.message(a, result(for: first[0].1))), to: a), [.unknownWorker])
        hello(a)
        XCTAssertEqual(delivered(handle(.message(a, result(for: first[0].1)))).count, 0)
    }

    func testABatchPastItsDeadlineIsHandedOutAgainAheadOfNewWork() {
        hello(a)
        hello(b)
        let sent = sentTasks(handle(.submit(tasks(40))))
        XCTAssertEqual(sent.count, 2)
        let (slowPeer, slow) = sent[0], (fastPeer, fast) = sent[1]
        now = 2
        let third = sentTasks(handle(.message(fastPeer, result(for: fast))))
        XCTAssertEqual(third.map(\.0), [fastPeer])
        for step in stride(from: 4.0, through: 30, by: 2) {   // both stay alive
            now = step
            handle(.message(a, .heartbeat(Heartbeat())))
            handle(.message(b, .heartbeat(Heartbeat())))
        }
        now = 30.5
        let expired = handle(.tick)
        let again = sentTasks(expired)
        XCTAssertEqual(again.count, 1, "only the batch sent at t=0 is past its 30 s deadline")
        XCTAssertEqual(again[0].1.taskIds, slow.taskIds, "requeued ahead of tasks 30…39")
        XCTAssertEqual(machine.counters.reassignedBatches, 1)
        // The slow worker's first answer still counts once; the second copy is a duplicate.
        XCTAssertEqual(delivered(handle(.message(slowPeer, result(for: slow)))).count, 10)
        XCTAssertEqual(delivered(handle(.message(again[0].0, result(for: again[0].1)))).count, 0)
        XCTAssertEqual(machine.counters.duplicatesDropped, 10)
    }

    func testATaskNoWorkerAnswersIsFailedAfterMaxAttempts() {
        hello(a)
        XCTAssertEqual(sentTasks(handle(.submit(tasks(2)))).count, 1)
        now = 31
        handle(.message(a, .heartbeat(Heartbeat())))
        let second = handle(.tick)
        XCTAssertEqual(sentTasks(second).count, 1, "attempt 2")
        now = 62
        handle(.message(a, .heartbeat(Heartbeat())))
        let third = handle(.tick)
        XCTAssertEqual(sentTasks(third).count, 0)
        let failed = delivered(third)
        XCTAssertEqual(failed.map(\.taskId), ["t0", "t1"])
        XCTAssertTrue(failed.allSatisfy { $0.failure?.contains("2 attempts") == true })
        XCTAssertEqual(machine.outstandingCount, 0)
    }

    func testHeartbeatsGoOutToQuietWorkersAndSilentOnesAreForgotten() {
        hello(a)
        now = 1.1
        let beats = handle(.tick)
        XCTAssertTrue(beats.contains(.send(a, .heartbeat(Heartbeat()))))
        now = 1.5
        XCTAssertFalse(handle(.tick).contains(.send(a, .heartbeat(Heartbeat()))), "not again before an interval passed")
        now = 5.2
        XCTAssertTrue(handle(.tick).contains { if case .workerLeft = $0 { return true } else { return false } })
        XCTAssertEqual(machine.workerCounts[.simulator] ?? 0, 0)
    }

    func testBadMessagesAreAnsweredCountedAndTheBatchMovesOn() {
        hello(a)
        hello(b)
        let sent = sentTasks(handle(.submit(tasks(20))))
        let (peer, batch) = sent[0]
        let other = peer == a ? b : a
        // x rows of the wrong width: refused, and its tasks go out again.
        let wrong = handle(.message(peer, result(for: batch, width: 5)))
        XCTAssertEqual(errors(wrong, to: peer), [.shape])
        XCTAssertEqual(delivered(wrong).count, 0)
        XCTAssertEqual(Set(sentTasks(wrong).flatMap(\.1.taskIds)), Set(batch.taskIds))
        // An unreadable message naming a batch: answered, counted, and the batch requeued.
        let garbled = handle(.malformed(other, FleetProtocolError(.shape, "truncated", batch: sent[1].1.batch)))
        XCTAssertEqual(errors(garbled, to: other), [.shape])
        XCTAssertEqual(Set(sentTasks(garbled).flatMap(\.1.taskIds)), Set(sent[1].1.taskIds))
        XCTAssertEqual(machine.counters.rejected[.shape], 2)
        // Messages only the coordinator sends.
        XCTAssertEqual(errors(handle(.message(peer, .welcome(Welcome(experiment: "x", thetaDim: 1, xShape: [1], heartbeatMs: 1, timeoutMs: 1, maxMessageBytes: 1, prior: nil)))), to: peer), [.unknownType])
        XCTAssertEqual(machine.workerCounts[.simulator], 2, "nobody was dropped")
    }

    func pairs(_ ids: [String], theta: [Float]? = nil, thetaWidth: Int = 2) -> FleetMessage {
        .pairs(PairBatch(batch: "p", taskIds: ids, theta: FleetArray(float32: theta ?? ids.indices.flatMap { _ in (0..<thetaWidth).map { _ in Float(0.5) } }, shape: [ids.count, thetaWidth]),
                         x: FleetArray(float32: ids.indices.flatMap { _ in [1, 2, 3] }, shape: [ids.count, 3])))
    }

    func testUnsolicitedPairsAreTakenOnlyWhileTheRoundDrawsFromThePrior() {
        _ = hello(a, kind: .producer, credit: 0)
        XCTAssertEqual(errors(handle(.message(a, pairs(["p/0"]))), to: a), [.notAccepting])   // no round
        handle(.submit(tasks(5, unsolicited: false)))
        XCTAssertEqual(errors(handle(.message(a, pairs(["p/0"]))), to: a), [.notAccepting])   // a posterior round
        handle(.submit(tasks(5, unsolicited: true)))
        let taken = handle(.message(a, pairs(["p/0", "p/1", "p/0", "t3"])))
        XCTAssertEqual(delivered(taken).map(\.taskId), ["p/0", "p/1"], "a repeated id and one of the round's own task ids are dropped")
        XCTAssertEqual(delivered(taken)[0].theta, [0.5, 0.5])
        XCTAssertEqual(delivered(handle(.message(a, pairs(["p/1", "p/2"])))).map(\.taskId), ["p/2"])
        XCTAssertEqual(errors(handle(.message(a, pairs(["p/9"], theta: [.nan, 1]))), to: a), [.invalidValue])
        XCTAssertEqual(errors(handle(.message(a, pairs(["p/9"], thetaWidth: 3))), to: a), [.shape])
        XCTAssertEqual(sentTasks(handle(.tick)).count, 0, "producers get no tasks")
    }

    func testStoppingDispatchSendsNothingNewButStillTakesResults() {
        hello(a, credit: 1)
        let (_, batch) = sentTasks(handle(.submit(tasks(30))))[0]
        handle(.stopDispatching)
        let actions = handle(.message(a, result(for: batch)))
        XCTAssertEqual(delivered(actions).count, 10)
        XCTAssertEqual(sentTasks(actions).count, 0)
    }

    func testTasksWaitUntilEnoughSimulatorsHaveJoinedThenEveryOneGetsSome() {
        var settings = machine.settings
        settings.simulatorsBeforeDispatch = 2
        machine = CoordinatorStateMachine(experiment: experiment, settings: settings)
        hello(t, kind: .trainer)
        hello(a, credit: 4)
        XCTAssertTrue(sentTasks(handle(.submit(tasks(100)))).isEmpty, "one simulator of two: nothing goes out")
        now = 1
        XCTAssertTrue(sentTasks(handle(.tick)).isEmpty)
        let sent = sentTasks(hello(b, credit: 4))
        XCTAssertEqual(sent.filter { $0.0 == a }.count, 4)
        XCTAssertEqual(sent.filter { $0.0 == b }.count, 4)
        // Once open, the gate stays open: with b gone silent, a goes on alone.
        now = 4
        handle(.message(a, .heartbeat(Heartbeat())))
        now = 8
        handle(.tick)
        XCTAssertEqual(machine.workerCounts[.simulator], 1)
        let (_, batch) = sent.first { $0.0 == a }!
        XCTAssertEqual(sentTasks(handle(.message(a, result(for: batch)))).map(\.0), [a])
    }

    func testJobOffersReachTrainersNowAndLater() {
        _ = hello(t, kind: .trainer, credit: 0)
        let offer = JobOffer(experiment: "e", round: 1, roundId: 7, jobs: [1, 2])
        XCTAssertEqual(handle(.offerJobs(offer)), [.send(t, .job(offer))])
        let late = hello(PeerID([9]), kind: .trainer, credit: 0)
        XCTAssertTrue(late.contains(.send(PeerID([9]), .job(offer))))
        handle(.offerJobs(nil))
        XCTAssertFalse(hello(PeerID([10]), kind: .trainer, credit: 0).contains { if case .send(_, .job) = $0 { return true } else { return false } })
        XCTAssertEqual(handle(.message(t, .jobDone(JobDone(job: 1, modelVersion: 5, reason: nil)))),
                       [.jobReported(JobDone(job: 1, modelVersion: 5, reason: nil))])
    }

    func testFinishingARunForgetsItsTasks() {
        hello(a)
        let (_, batch) = sentTasks(handle(.submit(tasks(10))))[0]
        handle(.finishRun)
        XCTAssertEqual(machine.outstandingCount, 0)
        XCTAssertEqual(delivered(handle(.message(a, result(for: batch)))).count, 0)
        XCTAssertEqual(sentTasks(handle(.submit(tasks(10, round: 1)))).map(\.1.round), [1])
    }

    func testShutdownTellsEveryWorker() {
        hello(a)
        _ = hello(t, kind: .trainer, credit: 0)
        let actions = handle(.shutdown(reason: "done"))
        XCTAssertEqual(Set(actions.compactMap { if case .send(let p, .shutdown) = $0 { return p } else { return nil } }), [a, t])
        XCTAssertEqual(machine.connectedWorkers.count, 0)
    }

    func testAHelloThatCrossesTheShutdownIsToldToLeaveNotWelcomed() {
        hello(a)
        handle(.shutdown(reason: "experiment e is complete"))
        let late = hello(b)
        XCTAssertEqual(late.count, 1, "\(late)")
        guard case .send(b, .shutdown(let s))? = late.first else { return XCTFail("no shutdown for the late worker: \(late)") }
        XCTAssertEqual(s.reason, "experiment e is complete")
        XCTAssertEqual(machine.connectedWorkers.count, 0)
        // A heartbeat from a worker that missed it is answered the same way, and an error not at all.
        guard case .send(a, .shutdown)? = handle(.message(a, .heartbeat(Heartbeat()))).first else { return XCTFail("no shutdown for a") }
        XCTAssertTrue(handle(.message(a, .error(FleetError(code: .malformed, message: "x")))).isEmpty)
    }
}
