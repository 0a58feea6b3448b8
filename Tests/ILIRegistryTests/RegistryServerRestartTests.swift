import Foundation
@testable import ILIRegistry
import XCTest

/// A PostgreSQL server that really stops and starts again, on a cluster of this test's
/// own (ops/pg-throwaway), so that stopping it disturbs no other test.
final class RegistryServerRestartTests: XCTestCase {
    func testAServerThatStopsAndStartsAgainIsReconnectedTo() throws {
        try withOwnCluster { cluster in
            let registry = try Registry(url: cluster.url)
            defer { registry.close() }
            _ = try seedExperiment(registry)

            try cluster.stop()
            let down = expectRegistryError(.unavailable) { _ = try registry.experiments() }
            XCTAssertTrue(down?.message.contains("cannot connect") == true, "\(String(describing: down))")
            guard case .lost = registry.connectionState else { return XCTFail("state \(registry.connectionState), expected lost") }

            try cluster.start()
            XCTAssertEqual(try registry.experiments().map(\.name), ["gauss"])
            XCTAssertEqual(registry.connectionState, .connected)
        }
    }

    /// A writer appends batch after batch while the server stops and starts again. The
    /// server stops while one batch's transaction is open (the writer holds it after its
    /// insert, until the server is down), so that batch meets a dead connection at COMMIT
    /// and hears that its outcome is unknown; the following attempts find no server. The
    /// writer resends each batch until it is stored, as a simulator would, and keeps going
    /// after the restart. Every record sent is stored exactly once.
    func testAppendsInFlightWhileTheServerRestartsAreResentAndStoredOnce() throws {
        try withOwnCluster { cluster in
            let url = cluster.url
            let setup = try Registry(url: url)
            let roundId = try seedExperiment(setup).1.id
            setup.close()

            let batchSize = 40
            let heldBatch = 3
            let inTransaction = DispatchSemaphore(value: 0), serverDown = DispatchSemaphore(value: 0)
            let sawNoServer = DispatchSemaphore(value: 0), committedAfterRestart = DispatchSemaphore(value: 0)
            let restarted = Locked(false), finish = Locked(false)
            let failures = Locked<[RegistryError.Code]>([])
            let sent = Locked(0), storedByCalls = Locked(0)
            let problems = Locked<[String]>([])
            let writerDone = DispatchGroup()
            writerDone.enter()
            Thread.detachNewThread {
                defer { writerDone.leave() }
                do {
                    let writer = try Registry(url: url)
                    defer { writer.close() }
                    var batch = 0
                    while !finish.value {
                        let batchRecords = records(batch * batchSize..<(batch + 1) * batchSize, prefix: "r")
                        if batch == heldBatch {
                            // Inside the transaction, after the insert: wait here until the server is down.
                            var held = false
                            writer.faultAfterInsertChunk = { _ in
                                guard !held else { return }
                                held = true
                                inTransaction.signal()
                                serverDown.wait()
                            }
                        }
                        let deadline = Date().addingTimeInterval(120)
                        while true {
                            do {
                                let result = try writer.appendSimulations(round: roundId, batchRecords, worker: "w")
                                storedByCalls.mutate { $0 += result.inserted }
                                if result.inserted + result.duplicates != batchSize {
                                    problems.mutate { $0.append("batch \(batch): \(result)") }
                                }
                                break
                            } catch let error as RegistryError where [.commitOutcomeUnknown, .unavailable, .connectionLost].contains(error.code) {
                                failures.mutate { $0.append(error.code) }
                                if error.code == .unavailable { sawNoServer.signal() }
                                guard Date() < deadline else { throw error }
                                // A simulator backs off before resending; the server is on its way back.
                                Thread.sleep(forTimeInterval: 0.01)
                            }
                        }
                        writer.faultAfterInsertChunk = nil
                        sent.mutate { $0 += batchSize }
                        if restarted.value { committedAfterRestart.signal() }
                        batch += 1
                    }
                } catch {
                    problems.mutate { $0.append("writer gave up: \(error)") }
                }
            }

            XCTAssertEqual(inTransaction.wait(timeout: .now() + 120), .success, "the writer never reached its held batch")
            try cluster.stop()
            serverDown.signal()
            XCTAssertEqual(sawNoServer.wait(timeout: .now() + 120), .success, "the writer never found the server down")
            try cluster.start()
            restarted.mutate { $0 = true }
            // A few batches after the restart, then stop the writer.
            for _ in 0..<3 {
                XCTAssertEqual(committedAfterRestart.wait(timeout: .now() + 120), .success, "the writer stored nothing after the restart")
            }
            finish.mutate { $0 = true }
            XCTAssertEqual(writerDone.wait(timeout: .now() + 120), .success, "the writer did not stop")

            XCTAssertTrue(problems.value.isEmpty, "\(problems.value)")
            XCTAssertEqual(failures.value.first, .commitOutcomeUnknown, "the held batch's COMMIT met the stopped server: \(failures.value)")
            XCTAssertTrue(failures.value.contains(.unavailable), "\(failures.value)")
            let reader = try Registry(url: url)
            defer { reader.close() }
            let (rows, distinct) = try reader.read("test") { c in
                let row = try c.query("SELECT count(*), count(DISTINCT task_id) FROM simulations WHERE round_id = $1", [.id(roundId)])[0]
                return (try row.int(0), try row.int(1))
            }
            // The three batches before the held one, the held one, and at least two after it.
            XCTAssertGreaterThanOrEqual(sent.value, (heldBatch + 3) * batchSize)
            XCTAssertEqual(rows, sent.value, "rows stored against records sent")
            XCTAssertEqual(distinct, sent.value, "distinct task ids against records sent")
            XCTAssertEqual(storedByCalls.value, sent.value, "the appends' own counts of what they stored")
            XCTAssertEqual(try reader.round(id: roundId).validSimulations, sent.value)
        }
    }

    // MARK: - A cluster of the test's own

    struct Cluster {
        let url: String
        let directory: String
        let binaries: String

        /// Stops the server, ending every session at once (`fast`), and waits until it is down.
        func stop() throws {
            try RegistryServerRestartTests.pgCtl(binaries, ["-D", directory + "/data", "-m", "fast", "-w", "stop"])
        }

        /// Starts it again: restart reuses the options the server was started with
        /// (postmaster.opts), port included, and starts a stopped server.
        func start() throws {
            try RegistryServerRestartTests.pgCtl(binaries, ["-D", directory + "/data", "-l", directory + "/server.log", "-w", "-t", "60", "restart"])
        }
    }

    /// Starts a cluster with ops/pg-throwaway, runs `body`, and removes the cluster.
    private func withOwnCluster(_ body: (Cluster) throws -> Void) throws {
        try Backend.requirePostgres()
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let script = repository.appendingPathComponent("ops/pg-throwaway").path
        let started = try Self.shell(["bash", script])
        guard let url = exported("ILI_TEST_DATABASE_URL", in: started), let dir = exported("ILI_PG_DIR", in: started) else {
            return XCTFail("ops/pg-throwaway printed no URL:\n\(started)")
        }
        defer { _ = try? Self.shell(["bash", script, "stop", dir]) }
        // pg_ctl sits beside the initdb that ops/pg-throwaway found (Debian's versioned
        // directory, or wherever PATH has it).
        guard let binaries = exported("ILI_PG_BIN", in: started),
              FileManager.default.isExecutableFile(atPath: binaries + "/pg_ctl") else {
            return XCTFail("ops/pg-throwaway names no directory with pg_ctl:\n\(started)")
        }
        try body(Cluster(url: url, directory: dir, binaries: binaries))
    }

    private func exported(_ name: String, in output: String) -> String? {
        output.split(separator: "\n").first { $0.hasPrefix("export \(name)=") }.map { String($0.dropFirst("export \(name)=".count)) }
    }

    /// Runs pg_ctl as the cluster's owner: PostgreSQL refuses to run as root, so
    /// ops/pg-throwaway made the cluster as `postgres` when the tests run as root.
    static func pgCtl(_ binaries: String, _ arguments: [String]) throws {
        let bin = binaries + "/pg_ctl"
        _ = try shell(getuid() == 0 ? ["runuser", "-u", "postgres", "--", bin] + arguments : [bin] + arguments)
    }

    /// Runs a command and returns its output. Not Foundation's Process: on Linux it learns
    /// that a child exited through a socket the child inherits, and the server pg_ctl
    /// starts keeps that socket open, so waitUntilExit would wait for the server to stop.
    /// posix_spawn and waitpid wait for the command alone; its output goes to a file.
    @discardableResult
    static func shell(_ arguments: [String]) throws -> String {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("ili-restart-\(UUID().uuidString).log")
        defer { try? FileManager.default.removeItem(at: log) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = (["/usr/bin/env"] + arguments).map { strdup($0) }
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, "/usr/bin/env", &actions, nil, argv + [nil], environ)
        guard spawned == 0 else { throw RegistryError(.io, "could not run \(arguments[0]): errno \(spawned)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        // Exited normally (low 7 bits 0) with status 0 (next 8 bits).
        guard status & 0x7f == 0, (status >> 8) & 0xff == 0 else {
            throw RegistryError(.io, "\(arguments.joined(separator: " ")) failed (wait status \(status)):\n\(output)")
        }
        return output
    }
}
