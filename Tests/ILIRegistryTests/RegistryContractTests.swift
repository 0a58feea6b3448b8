import Foundation
@testable import ILIRegistry
import XCTest
import ILITensor

/// The registry's behaviour, written once; `SQLiteRegistryTests` and
/// `PostgresRegistryTests` run every case against their back end.
struct RegistryContract {
    let backend: Backend

    func migrationIsAppliedOnceAndReopeningIsHarmless() throws {
        try withRegistry(backend) { registry, scratch in
            XCTAssertTrue(registry.schemaVersion == Migration.latestVersion(for: backend == .postgres ? .postgres : .sqlite))
            let again = try Registry(url: scratch.url)
            defer { again.close() }
            let versions = try again.read("test") { c in try c.query("SELECT version FROM ili_schema_migrations ORDER BY version").map { try $0.int(0) } }
            XCTAssertEqual(versions, Array(1...registry.schemaVersion), "each migration recorded once")
        }
    }

    func aSchemaNewerThanThisBinaryIsRefused() throws {
        try withRegistry(backend) { registry, scratch in
            try registry.write("test") { c in try c.run("INSERT INTO ili_schema_migrations (version, name) VALUES ($1, $2)", [.integer(99), .text("future")]) }
            let error = expectRegistryError(.schema) { _ = try Registry(url: scratch.url) }
            XCTAssertTrue(error?.message.contains("99") == true && error?.message.contains("upgrade ili") == true, "\(String(describing: error))")
        }
    }

    func closingDisconnectsAndTheNextCallConnectsAgain() throws {
        try withRegistry(backend) { registry, _ in
            XCTAssertEqual(registry.connectionState, .connected)
            registry.close()
            XCTAssertEqual(registry.connectionState, .disconnected)
            XCTAssertEqual(try registry.experiments().count, 0)
            XCTAssertEqual(registry.connectionState, .connected)
        }
    }

    func concurrentFirstConnectionsMigrateOnce() throws {
        let scratch = try ScratchDatabase(backend)
        defer { scratch.drop() }
        let failures = Locked<[String]>([])
        let group = DispatchGroup()
        for _ in 0..<4 {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                do {
                    let registry = try Registry(url: scratch.url)
                    registry.close()
                } catch {
                    failures.mutate { $0.append("\(error)") }
                }
            }
        }
        group.wait()
        XCTAssertTrue(failures.value.isEmpty, "\(failures.value)")
        let registry = try Registry(url: scratch.url)
        defer { registry.close() }
        let count = try registry.read("test") { c in try c.query("SELECT count(*) FROM ili_schema_migrations")[0].int(0) }
        XCTAssertEqual(count, registry.schemaVersion, "each migration applied once")
    }

    func experimentsAreCreatedFoundAndListed() throws {
        try withRegistry(backend) { registry, _ in
            let created = try registry.createExperiment(ExperimentSpec(
                name: "two-moons", config: #"{"epochs": 5}"#, prior: #"{"normal": [0, 1]}"#, thetaDimension: 2, xShape: [2]))
            XCTAssertTrue(created.name == "two-moons")
            XCTAssertTrue(created.thetaDimension == 2 && created.xShape == [2])
            XCTAssertTrue(abs(created.createdAt.timeIntervalSinceNow) < 60)
            let found = try registry.experiment(named: "two-moons")
            XCTAssertTrue(found == created)
            let prior = JSONText.object(found.prior) as? [String: [Int]]
            XCTAssertTrue(prior == ["normal": [0, 1]])
            _ = try registry.createExperiment(ExperimentSpec(name: "slcp", prior: "{}", thetaDimension: 5, xShape: [8]))
            XCTAssertTrue(try registry.experiments().map(\.name) == ["two-moons", "slcp"])

            expectRegistryError(.duplicateExperiment) {
                _ = try registry.createExperiment(ExperimentSpec(name: "two-moons", prior: "{}", thetaDimension: 2, xShape: [2]))
            }
            let unknown = expectRegistryError(.unknownExperiment) { _ = try registry.experiment(named: "nope") }
            XCTAssertTrue(unknown?.message.contains("nope") == true)
            let badJSON = expectRegistryError(.invalidInput) {
                _ = try registry.createExperiment(ExperimentSpec(name: "bad", prior: "{not json", thetaDimension: 1, xShape: [1]))
            }
            XCTAssertTrue(badJSON?.message.contains("prior") == true)
            expectRegistryError(.invalidInput) {
                _ = try registry.createExperiment(ExperimentSpec(name: "bad", prior: "{}", thetaDimension: 0, xShape: [1]))
            }
        }
    }

    func roundsFollowTheirStateMachine() throws {
        try withRegistry(backend) { registry, _ in
            _ = try registry.createExperiment(ExperimentSpec(name: "e", prior: "{}", thetaDimension: 1, xShape: [1]))
            let r0 = try registry.openRound(experiment: "e", strategy: "prior", proposal: #"{"kind": "prior"}"#, targetCount: 10)
            let r1 = try registry.openRound(experiment: "e", strategy: "truncated", targetCount: 20)
            XCTAssertTrue(r0.index == 0 && r1.index == 1)
            XCTAssertTrue(r0.status == .planned && r0.finishedAt == nil)

            let skip = expectRegistryError(.invalidTransition) { try registry.advanceRound(id: r0.id, to: .training) }
            XCTAssertTrue(skip?.message.contains("simulating") == true)
            for status in [RoundStatus.simulating, .training, .validating, .done] {
                XCTAssertTrue(try registry.advanceRound(id: r0.id, to: status).status == status)
            }
            XCTAssertTrue(try registry.round(id: r0.id).finishedAt != nil)
            expectRegistryError(.invalidTransition) { try registry.advanceRound(id: r0.id, to: .failed) }

            try registry.advanceRound(id: r1.id, to: .simulating)
            let failed = try registry.advanceRound(id: r1.id, to: .failed, failure: "simulator crashed")
            XCTAssertTrue(failed.status == .failed && failed.failure == "simulator crashed")
            expectRegistryError(.invalidTransition) { try registry.advanceRound(id: r1.id, to: .simulating) }

            XCTAssertTrue(try registry.rounds(experiment: "e").map(\.status) == [.done, .failed])
            XCTAssertTrue(try registry.round(experiment: "e", index: 1).id == r1.id)
            expectRegistryError(.unknownRound) { _ = try registry.round(experiment: "e", index: 7) }
            expectRegistryError(.unknownExperiment) { _ = try registry.openRound(experiment: "x", strategy: "prior", targetCount: 1) }
        }
    }

    func appendedPairsReadBackExactlyForTheirRoundsOnly() throws {
        try withRegistry(backend) { registry, _ in
            let (_, r0) = try seedExperiment(registry)
            let (_, other) = try seedExperiment(registry, name: "other")
            let r1 = try registry.openRound(experiment: "gauss", strategy: "truncated", targetCount: 10)
            try registry.advanceRound(id: r1.id, to: .simulating)
            let r2 = try registry.openRound(experiment: "gauss", strategy: "truncated", targetCount: 10)
            try registry.advanceRound(id: r2.id, to: .simulating)

            XCTAssertTrue(try registry.appendSimulations(round: r0.id, records(0..<5), worker: "w1") == AppendResult(inserted: 5, duplicates: 0, invalid: 0))
            try registry.appendSimulations(round: r1.id, records(5..<8), worker: "w1")
            try registry.appendSimulations(round: r2.id, records(8..<20), worker: "w1")
            try registry.appendSimulations(round: other.id, records(0..<4, prefix: "o"), worker: "w2")
            let failed = SimulationRecord(taskId: "crash", theta: [0, 0, 0], x: [], valid: false, reason: "segfault")
            XCTAssertTrue(try registry.appendSimulations(round: r1.id, [failed], worker: "w1").invalid == 1)

            let data = try registry.trainingData(experiment: "gauss", rounds: 0...1)
            XCTAssertTrue(data.count == 8 && data.thetaDimension == 3 && data.xShape == [2, 2])
            let expected = records(0..<8)
            XCTAssertTrue(data.theta == expected.flatMap(\.theta))
            XCTAssertTrue(data.x == expected.flatMap(\.x))
            XCTAssertTrue(try registry.trainingData(experiment: "gauss", rounds: 2...2).count == 12)
            // Paged reads (pages of 3 against rounds of 5, 3 and 12 valid rows) give the same pairs.
            let whole = try registry.trainingData(experiment: "gauss", rounds: 0...2)
            let paged = try registry.trainingData(experiment: "gauss", rounds: 0...2, pageSize: 3)
            XCTAssertEqual(paged.count, 20)
            XCTAssertEqual(paged.theta, whole.theta)
            XCTAssertEqual(paged.x, whole.x)
            XCTAssertEqual(whole.theta, records(0..<20).flatMap(\.theta))
            XCTAssertTrue(try registry.trainingData(experiment: "other", rounds: 0...5).count == 4)
            // Pairs committed out of order (workers finish when they finish) read back in task order.
            let r3 = try registry.openRound(experiment: "gauss", strategy: "truncated", targetCount: 10)
            try registry.advanceRound(id: r3.id, to: .simulating)
            for batch in [[12, 3], [100, 0], [7]] {
                try registry.appendSimulations(round: r3.id, batch.flatMap { records($0..<($0 + 1), prefix: "s") }, worker: "w\(batch[0])")
            }
            let unsolicited = SimulationRecord(taskId: "producer-b", theta: [9, 9, 9], x: [1, 2, 3, 4])
            try registry.appendSimulations(round: r3.id, [unsolicited], worker: "w9")
            let shuffled = try registry.trainingData(experiment: "gauss", rounds: 3...3, pageSize: 2)
            let inTaskOrder = [unsolicited] + [0, 3, 7, 12, 100].flatMap { records($0..<($0 + 1), prefix: "s") }
            XCTAssertEqual(shuffled.count, 6)
            XCTAssertEqual(shuffled.theta, inTaskOrder.flatMap(\.theta))
            XCTAssertEqual(shuffled.x, inTaskOrder.flatMap(\.x))
            let counts = try registry.round(id: r1.id)
            XCTAssertTrue(counts.validSimulations == 3 && counts.invalidSimulations == 1)
        }
    }

    /// The statement `trainingData` pages with, as the code holds it, reads through the
    /// index (round_id, id). PostgreSQL prefers a sequential scan of a small table anyway,
    /// so there the plan is asked for with sequential scans priced out: an index it could
    /// not use would still show up as a scan of the table.
    func trainingReadsUseTheRoundIndex() throws {
        try withRegistry(backend) { registry, _ in
            let binds: [SQLValue] = [.integer(1), .integer(0), .integer(100), .text(SimulationPurpose.training.rawValue)]
            let plan = try registry.read("test") { c -> [String] in
                if backend == .postgres {
                    try c.run("SET LOCAL enable_seqscan = off")
                    return try c.query("EXPLAIN " + Registry.trainingPageQuery, binds).map { try $0.text(0) }
                }
                return try c.query("EXPLAIN QUERY PLAN " + Registry.trainingPageQuery, binds).map { try $0.text(3) }
            }
            XCTAssertTrue(plan.contains { $0.contains("simulations_round") }, "\(plan)")
            XCTAssertTrue(!plan.contains { $0.hasPrefix("SCAN") || $0.contains("Seq Scan") }, "\(plan)")
        }
    }

    func retriedBatchStoresNothingTwice() throws {
        try withRegistry(backend) { registry, _ in
            let (_, round) = try seedExperiment(registry)
            let batch = records(0..<50)
            XCTAssertTrue(try registry.appendSimulations(round: round.id, batch, worker: "w") == AppendResult(inserted: 50, duplicates: 0, invalid: 0))
            XCTAssertTrue(try registry.appendSimulations(round: round.id, batch, worker: "w") == AppendResult(inserted: 0, duplicates: 50, invalid: 0))
            let overlapping = try registry.appendSimulations(round: round.id, records(40..<60), worker: "w")
            XCTAssertTrue(overlapping == AppendResult(inserted: 10, duplicates: 10, invalid: 0))
            XCTAssertTrue(try registry.trainingData(experiment: "gauss", rounds: 0...0).count == 60)
        }
    }

    func badInputIsRefusedWithTheTaskNamedAndNothingStored() throws {
        try withRegistry(backend) { registry, _ in
            let (_, round) = try seedExperiment(registry)
            var batch = records(0..<10)
            batch[7].theta = [1, 2]
            let wide = expectRegistryError(.invalidInput) { try registry.appendSimulations(round: round.id, batch, worker: "w") }
            XCTAssertTrue(wide?.message.contains("task-a-7") == true && wide?.message.contains("3") == true)

            batch = records(0..<10)
            batch[3].theta[1] = .nan
            let nanTheta = expectRegistryError(.invalidInput) { try registry.appendSimulations(round: round.id, batch, worker: "w") }
            XCTAssertTrue(nanTheta?.message.contains("NaN") == true)

            batch = records(0..<10)
            batch[2].x = [1, 2, 3]
            expectRegistryError(.invalidInput) { try registry.appendSimulations(round: round.id, batch, worker: "w") }

            batch = records(0..<10)
            batch[9] = batch[0]
            expectRegistryError(.invalidInput) { try registry.appendSimulations(round: round.id, batch, worker: "w") }
            XCTAssertTrue(try registry.round(id: round.id).validSimulations == 0)

            batch = records(0..<10)
            batch[4].x[2] = .infinity
            batch[5].x[0] = .nan
            XCTAssertTrue(try registry.appendSimulations(round: round.id, batch, worker: "w") == AppendResult(inserted: 10, duplicates: 0, invalid: 2))
            let reason = try registry.read("test") { c in
                try c.query("SELECT reason FROM simulations WHERE task_id = $1", [.text("task-a-4")])[0].text(0)
            }
            XCTAssertTrue(reason.contains("x[2]"))
            XCTAssertTrue(try registry.trainingData(experiment: "gauss", rounds: 0...0).count == 8)

            expectRegistryError(.unknownRound) { try registry.appendSimulations(round: 9_999, records(0..<1), worker: "w") }
            try registry.advanceRound(id: round.id, to: .training)
            let late = expectRegistryError(.invalidTransition) { try registry.appendSimulations(round: round.id, records(20..<21), worker: "w") }
            XCTAssertTrue(late?.message.contains("training") == true)
        }
    }

    func aBatchThatFailsHalfwayLeavesNoRows() throws {
        try withRegistry(backend) { registry, _ in
            let (_, round) = try seedExperiment(registry)
            struct Crash: Error {}
            // 2,500 records are inserted in three statements; fail after the first.
            registry.faultAfterInsertChunk = { chunk in if chunk == 0 { throw Crash() } }
            XCTAssertThrowsError(try registry.appendSimulations(round: round.id, records(0..<2_500), worker: "w")) { XCTAssertTrue($0 is Crash, "\($0)") }
            XCTAssertTrue(try registry.round(id: round.id).validSimulations == 0)
            registry.faultAfterInsertChunk = nil
            XCTAssertTrue(try registry.appendSimulations(round: round.id, records(0..<2_500), worker: "w").inserted == 2_500)
        }
    }

    func twoWritersAppendingTheSameTasksLoseAndDuplicateNothing() throws {
        try withRegistry(backend) { registry, scratch in
            let (_, round) = try seedExperiment(registry)
            let all = records(0..<3_000)
            // Both writers send every task, in opposite orders, in batches of 250, each on its own connection.
            let inserted = Locked(0)
            let errors = Locked<[String]>([])
            let group = DispatchGroup()
            for reversed in [false, true] {
                group.enter()
                Thread.detachNewThread {
                    defer { group.leave() }
                    do {
                        let writer = try Registry(url: scratch.url)
                        defer { writer.close() }
                        var batches = stride(from: 0, to: all.count, by: 250).map { Array(all[$0..<min($0 + 250, all.count)]) }
                        if reversed { batches.reverse() }
                        for batch in batches {
                            let result = try writer.appendSimulations(round: round.id, batch, worker: reversed ? "w2" : "w1")
                            inserted.mutate { $0 += result.inserted }
                        }
                    } catch {
                        errors.mutate { $0.append("\(error)") }
                    }
                }
            }
            group.wait()
            XCTAssertTrue(errors.value.isEmpty, "\(errors.value)")
            XCTAssertTrue(inserted.value == 3_000)
            let data = try registry.trainingData(experiment: "gauss", rounds: 0...0)
            XCTAssertTrue(data.count == 3_000)
            let distinct = try registry.read("test") { c in
                try c.query("SELECT count(DISTINCT task_id) FROM simulations WHERE round_id = $1", [.id(round.id)])[0].int(0)
            }
            XCTAssertTrue(distinct == 3_000)
        }
    }

    func aWriterKilledMidBatchLeavesNoRows() throws {
        try withRegistry(backend) { registry, scratch in
            let (_, round) = try seedExperiment(registry)
            let flag = FileManager.default.temporaryDirectory.appendingPathComponent("ili-crash-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: flag) }
            let child = try ChildAppender.start(url: scratch.url, round: round.id, reversed: false, crashFlag: flag)
            let deadline = Date().addingTimeInterval(60)
            while !FileManager.default.fileExists(atPath: flag) && Date() < deadline && child.0.isRunning {
                Thread.sleep(forTimeInterval: 0.02)
            }
            XCTAssertTrue(FileManager.default.fileExists(atPath: flag), "the child never got halfway")
            kill(child.0.processIdentifier, SIGKILL)
            child.0.waitUntilExit()
            XCTAssertEqual(try registry.round(id: round.id).validSimulations, 0)
            // The killed transaction's rows are gone for good: the whole batch goes in again.
            XCTAssertEqual(try registry.appendSimulations(round: round.id, records(0..<2_500), worker: "w").inserted, 2_500)
        }
    }

    func twoProcessesAppendingTheSameTasksLoseAndDuplicateNothing() throws {
        try withRegistry(backend) { registry, scratch in
            let (_, round) = try seedExperiment(registry)
            // Both children send all 3,000 tasks, in opposite batch orders, in lockstep: batch k
            // of one goes out while batch k of the other does.
            let meeting = FileManager.default.temporaryDirectory.appendingPathComponent("ili-meet-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: meeting, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: meeting) }
            let children = try [("a", "b", false), ("b", "a", true)].map { name, peer, reversed in
                try ChildAppender.start(url: scratch.url, round: round.id, reversed: reversed,
                                        rendezvous: .init(directory: meeting.path, name: name, peer: peer))
            }
            let inserted = try children.map(ChildAppender.finish)
            XCTAssertEqual(inserted.reduce(0, +), 3_000, "\(inserted)")
            XCTAssertTrue(inserted.allSatisfy { $0 > 0 }, "each child stores at least its first batch: \(inserted)")
            let data = try registry.trainingData(experiment: "gauss", rounds: 0...0)
            XCTAssertEqual(data.count, 3_000)
            let expected = records(0..<3_000)
            XCTAssertEqual(Set(stride(from: 0, to: data.theta.count, by: 3).map { data.theta[$0] }), Set(expected.map { $0.theta[0] }))
            // The writers overlapped: each one's rows span ids on both sides of some of the other's.
            let spans = try registry.read("test") { c in
                try c.query("SELECT min(id), max(id) FROM simulations WHERE round_id = $1 GROUP BY worker_id",
                            [.id(round.id)]).map { (try $0.int64(0), try $0.int64(1)) }
            }
            XCTAssertEqual(spans.count, 2, "two writers stored rows")
            if spans.count == 2 {
                XCTAssertTrue(spans[0].0 < spans[1].1 && spans[1].0 < spans[0].1, "the writers took turns instead of overlapping: \(spans)")
            }
        }
    }

    /// Writer A sends tasks 0..<2000 to one round and writer B the same tasks (task ids are
    /// unique across the registry) in the other order to another experiment's round (appends
    /// to one round take turns on its row), each pausing after its first 1,000 until the
    /// other has inserted its own first 1,000: on PostgreSQL both then wait for each other's
    /// rows, the server aborts one as a deadlock, and the registry runs that batch again,
    /// which the fault hook sees as a second pass over the first chunk. SQLite lets one
    /// writer in at a time, so there nobody waits and nothing deadlocks. Either way nothing
    /// is lost or doubled.
    func crossedBatchesSurviveADeadlock() throws {
        try withRegistry(backend) { registry, scratch in
            let rounds = [try seedExperiment(registry).1, try seedExperiment(registry, name: "other").1]
            let all = records(0..<2_000)
            let halfway = DispatchGroup()
            halfway.enter()
            halfway.enter()
            let errors = Locked<[String]>([])
            let inserted = Locked(0)
            let firstChunkPasses = Locked(0)
            let done = DispatchGroup()
            for reversed in [false, true] {
                done.enter()
                Thread.detachNewThread {
                    defer { done.leave() }
                    do {
                        let writer = try Registry(url: scratch.url)
                        defer { writer.close() }
                        let arrived = Locked(false)
                        writer.faultAfterInsertChunk = { chunk in
                            guard chunk == 0 else { return }
                            firstChunkPasses.mutate { $0 += 1 }
                            guard backend == .postgres, !arrived.value else { return }
                            arrived.mutate { $0 = true }
                            halfway.leave()
                            if halfway.wait(timeout: .now() + 120) == .timedOut {
                                errors.mutate { $0.append("the other writer never inserted its first chunk") }
                            }
                        }
                        let batch = reversed ? Array(all[1_000...] + all[..<1_000]) : all
                        let result = try writer.appendSimulations(round: rounds[reversed ? 1 : 0].id, batch, worker: "w")
                        inserted.mutate { $0 += result.inserted }
                    } catch {
                        errors.mutate { $0.append("\(error)") }
                    }
                }
            }
            done.wait()
            XCTAssertTrue(errors.value.isEmpty, "\(errors.value)")
            XCTAssertEqual(inserted.value, 2_000)
            XCTAssertEqual(try rounds.map { try registry.round(id: $0.id).validSimulations }.reduce(0, +), 2_000,
                           "each task stored once, and counted where it was stored")
            if backend == .postgres {
                XCTAssertGreaterThanOrEqual(firstChunkPasses.value, 3, "no batch was run again: the deadlock never happened")
            } else {
                XCTAssertEqual(firstChunkPasses.value, 2)
            }
        }
    }

    func modelVersionsKeepTheirWeightsAndChecksums() throws {
        try withRegistry(backend) { registry, _ in
            let (_, round) = try seedExperiment(registry)
            let weights = Array("fake safetensors \u{0}\u{1}\u{2}".utf8) + [UInt8](repeating: 0xAB, count: 5_000)
            let version = try registry.registerModelVersion(ModelVersionSpec(
                round: round.id, method: "NPE", estimator: #"{"flow": "maf", "transforms": 5}"#, member: 1, weights: weights,
                trainingSummary: #"{"epochs": 12, "bestValidationLoss": -3.5}"#))
            XCTAssertTrue(version.weightsSHA256 == SHA256.hex(weights) && version.weightsByteCount == weights.count)
            XCTAssertTrue(version.roundIndex == 0 && version.member == 1 && version.method == "NPE")
            XCTAssertTrue(try registry.modelWeights(id: version.id) == weights)
            XCTAssertTrue(try registry.modelVersions(experiment: "gauss").map(\.id) == [version.id])
            expectRegistryError(.unknownModelVersion) { _ = try registry.modelWeights(id: 777) }
            expectRegistryError(.unknownRound) {
                _ = try registry.registerModelVersion(ModelVersionSpec(round: 555, method: "NPE", estimator: "{}", weights: [1]))
            }
            try registry.write("test") { c in
                try c.run("UPDATE model_versions SET weights = $1 WHERE id = $2", [.blob([1, 2, 3]), .id(version.id)])
            }
            expectRegistryError(.checksumMismatch) { _ = try registry.modelWeights(id: version.id) }
        }
    }

    func onlyAStoredPassingVerdictMakesAPosteriorCalibrated() throws {
        try withRegistry(backend) { registry, _ in
            let (_, round) = try seedExperiment(registry)
            let m0 = try registry.registerModelVersion(ModelVersionSpec(round: round.id, method: "NPE", estimator: "{}", member: 0, weights: [1]))
            let m1 = try registry.registerModelVersion(ModelVersionSpec(round: round.id, method: "NPE", estimator: "{}", member: 1, weights: [2]))
            let nle = try registry.registerModelVersion(ModelVersionSpec(round: round.id, method: "NLE", estimator: "{}", weights: [3]))

            let p1 = try registry.createPosterior(members: [(m0.id, 3), (m1.id, 1)])
            XCTAssertTrue(p1.members.map(\.weight) == [0.75, 0.25] && p1.method == "NPE" && !p1.calibrated)
            expectRegistryError(.invalidInput) { _ = try registry.createPosterior(members: [(m0.id, 1), (nle.id, 1)]) }
            expectRegistryError(.invalidInput) { _ = try registry.createPosterior(members: [(m0.id, -1)]) }
            XCTAssertTrue(try registry.latestCalibratedPosterior(experiment: "gauss") == nil)

            let failing = try registry.recordValidation(posterior: p1.id, ValidationSpec(metric: "sbc", value: 0.001, passed: false,
                                                                                         details: #"{"ks_p": 0.001}"#, plotFiles: ["sbc.png"]))
            XCTAssertTrue(failing.plotFiles == ["sbc.png"])
            expectRegistryError(.notCalibrated) { try registry.markCalibrated(posterior: p1.id, verdict: failing.id) }
            let p2 = try registry.createPosterior(members: [(m1.id, 1)])
            let passingForP2 = try registry.recordValidation(posterior: p2.id, ValidationSpec(metric: "coverage", value: 0.95, passed: true))
            expectRegistryError(.notCalibrated) { try registry.markCalibrated(posterior: p1.id, verdict: passingForP2.id) }
            expectRegistryError(.unknownValidationResult) { try registry.markCalibrated(posterior: p1.id, verdict: 4_242) }
            // The schema itself refuses a flag without a passing verdict behind it.
            XCTAssertThrowsError(try registry.write("test") { c in
                try c.run("UPDATE posteriors SET calibrated = $1 WHERE id = $2", [.bool(true), .id(p1.id)])
            })
            XCTAssertThrowsError(try registry.write("test") { c in
                try c.run("UPDATE posteriors SET calibrated = $1, calibrated_by = $2, verdict_passed = $1 WHERE id = $3",
                          [.bool(true), .id(failing.id), .id(p1.id)])
            })
            XCTAssertTrue(try registry.latestCalibratedPosterior(experiment: "gauss") == nil)

            let passing = try registry.recordValidation(posterior: p1.id, ValidationSpec(metric: "verdict", value: nil, passed: true))
            let calibrated = try registry.markCalibrated(posterior: p1.id, verdict: passing.id)
            XCTAssertTrue(calibrated.calibrated && calibrated.calibratedBy == passing.id)
            _ = try registry.createPosterior(members: [(m0.id, 1)]) // newer, uncalibrated
            XCTAssertTrue(try registry.latestCalibratedPosterior(experiment: "gauss")?.id == p1.id)
            XCTAssertTrue(try registry.latestPosterior(experiment: "gauss")?.id != p1.id)
            XCTAssertTrue(try registry.posteriors(experiment: "gauss", calibratedOnly: true).map(\.id) == [p1.id])
            XCTAssertTrue(try registry.validationResults(posterior: p1.id).map(\.metric) == ["sbc", "verdict"])
            expectRegistryError(.invalidInput) {
                _ = try registry.recordValidation(posterior: p1.id, ValidationSpec(metric: "c2st", value: .nan, passed: true))
            }
        }
    }

    func twoTrainersNeverClaimTheSameJob() throws {
        try withRegistry(backend) { registry, scratch in
            let (_, round) = try seedExperiment(registry)
            for member in 0..<30 { _ = try registry.enqueueTrainingJob(round: round.id, member: member, config: #"{"seed": \#(member)}"#) }
            XCTAssertTrue(try registry.enqueueTrainingJob(round: round.id, member: 0).config.contains("seed"))
            let claims = Locked<[TrainingJobID: [String]]>([:])
            let errors = Locked<[String]>([])
            let group = DispatchGroup()
            for trainer in ["t1", "t2", "t3"] {
                group.enter()
                Thread.detachNewThread {
                    defer { group.leave() }
                    do {
                        let mine = try Registry(url: scratch.url)
                        defer { mine.close() }
                        while let job = try mine.claimTrainingJob(worker: trainer) {
                            claims.mutate { $0[job.id, default: []].append(trainer) }
                            try mine.completeTrainingJob(id: job.id, worker: trainer, modelVersion: nil)
                        }
                    } catch {
                        errors.mutate { $0.append("\(error)") }
                    }
                }
            }
            group.wait()
            XCTAssertTrue(errors.value.isEmpty, "\(errors.value)")
            XCTAssertTrue(claims.value.count == 30)
            XCTAssertTrue(claims.value.values.allSatisfy { $0.count == 1 })
            XCTAssertTrue(try registry.trainingJobs(round: round.id).allSatisfy { $0.status == .done && $0.attempts == 1 })
        }
    }

    func aStaleJobIsReclaimedAndItsFormerHolderIsTold() throws {
        try withRegistry(backend) { registry, _ in
            let (_, round) = try seedExperiment(registry)
            let queued = try registry.enqueueTrainingJob(round: round.id, member: 0)
            XCTAssertTrue(queued.status == .queued && queued.claimedBy == nil)
            let first = try XCTUnwrap(try registry.claimTrainingJob(worker: "a"))
            XCTAssertTrue(first.status == .running && first.claimedBy == "a" && first.attempts == 1 && first.heartbeatAt != nil)
            XCTAssertTrue(try registry.claimTrainingJob(worker: "b", staleAfter: 3_600) == nil)
            try registry.heartbeatTrainingJob(id: first.id, worker: "a")
            expectRegistryError(.jobNotHeld) { try registry.heartbeatTrainingJob(id: first.id, worker: "b") }

            Thread.sleep(forTimeInterval: 0.05)
            let reclaimed = try XCTUnwrap(try registry.claimTrainingJob(worker: "b", staleAfter: 0.01))
            XCTAssertTrue(reclaimed.id == first.id && reclaimed.claimedBy == "b" && reclaimed.attempts == 2)
            let told = expectRegistryError(.jobNotHeld) { try registry.heartbeatTrainingJob(id: first.id, worker: "a") }
            XCTAssertTrue(told?.message.contains("b") == true)
            expectRegistryError(.jobNotHeld) { try registry.completeTrainingJob(id: first.id, worker: "a", modelVersion: nil) }

            let model = try registry.registerModelVersion(ModelVersionSpec(round: round.id, method: "NPE", estimator: "{}", weights: [9]))
            let done = try registry.completeTrainingJob(id: first.id, worker: "b", modelVersion: model.id)
            XCTAssertTrue(done.status == .done && done.modelVersion == model.id)
            XCTAssertTrue(try registry.claimTrainingJob(worker: "c", staleAfter: 0) == nil)

            _ = try registry.enqueueTrainingJob(round: round.id, member: 1)
            let second = try XCTUnwrap(try registry.claimTrainingJob(worker: "c"))
            XCTAssertTrue(try registry.failTrainingJob(id: second.id, worker: "c", reason: "loss diverged").failure == "loss diverged")
        }
    }

    func workersAreRegisteredAndHeartbeat() throws {
        try withRegistry(backend) { registry, _ in
            let w = try registry.registerWorker(id: "sim-1", kind: .simulator, host: "node3")
            Thread.sleep(forTimeInterval: 0.02)
            try registry.workerHeartbeat(id: "sim-1")
            let listed = try registry.workers()
            XCTAssertTrue(listed.map(\.id) == ["sim-1"] && listed[0].kind == .simulator && listed[0].host == "node3")
            XCTAssertTrue(listed[0].lastHeartbeat > w.lastHeartbeat)
            XCTAssertTrue(try registry.registerWorker(id: "sim-1", kind: .trainer, host: "node4").kind == .trainer)
            expectRegistryError(.invalidInput) { try registry.workerHeartbeat(id: "ghost") }
        }
    }

    func asyncCallersRunOffTheCooperativePool() async throws {
        let scratch = try ScratchDatabase(backend)
        defer { scratch.drop() }
        let registry = try Registry(url: scratch.url)
        defer { registry.close() }
        // The registry's queue carries a marker; a body that finds it runs there, not on
        // the cooperative thread of the task that awaits it.
        let key = DispatchSpecificKey<String>()
        registry.queue.setSpecific(key: key, value: "registry queue")
        XCTAssertNil(DispatchQueue.getSpecific(key: key), "the test itself is not on the registry's queue")
        let (name, queueMarker) = try await registry.perform { r in
            (try r.createExperiment(ExperimentSpec(name: "async", prior: "{}", thetaDimension: 1, xShape: [1])).name,
             DispatchQueue.getSpecific(key: key))
        }
        XCTAssertTrue(name == "async")
        XCTAssertEqual(queueMarker, "registry queue", "perform ran its body off the registry's queue")
        do {
            _ = try await registry.perform { try $0.experiment(named: "missing") }
            XCTFail("expected unknownExperiment")
        } catch let error as RegistryError {
            XCTAssertEqual(error.code, .unknownExperiment)
        }
    }
}

/// A value shared between test threads, behind the lock right beside it.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value { lock.withLock { stored } }
    func mutate(_ body: (inout Value) -> Void) { lock.withLock { body(&stored) } }
}
