import Foundation
@testable import ILIRegistry
import XCTest

/// A registry whose database is down, goes away mid-session, or comes back.
final class RegistryConnectionTests: XCTestCase {
    func testAPostgresServerThatIsDownGivesAClearErrorWithoutThePassword() throws {
        let port = try closedLoopbackPort()
        let error = expectRegistryError(.unavailable) {
            _ = try Registry(url: "postgresql://ili:hunter2@127.0.0.1:\(port)/ili?connect_timeout=2")
        }
        let message = error?.message ?? ""
        XCTAssertTrue(message.contains("127.0.0.1:\(port)") && message.contains("Start the database"))
        XCTAssertTrue(!message.contains("hunter2"))
        XCTAssertTrue(message.contains("ili:***@"))
    }

    func testASQLiteFileThatCannotBeOpenedGivesAClearError() {
        let error = expectRegistryError(.unavailable) { _ = try Registry(url: "sqlite:/nonexistent-dir-\(UUID().uuidString)/r.db") }
        XCTAssertTrue(error?.message.contains("directory exists") == true)
        expectRegistryError(.invalidURL) { _ = try Registry(url: "mysql://x@y/z") }
    }

    func testATerminatedPostgresSessionIsReconnectedTransparently() throws {
        try Backend.requirePostgres()
        try withRegistry(.postgres) { registry, scratch in
            let (_, round) = try seedExperiment(registry)
            let pid = try registry.read("test") { c in try c.query("SELECT pg_backend_pid()")[0].int64(0) }
            try terminate(pid, adminURL: scratch.url)
            // The next call meets a dead socket, reconnects and succeeds.
            XCTAssertTrue(try registry.appendSimulations(round: round.id, records(0..<10), worker: "w").inserted == 10)
            let newPid = try registry.read("test") { c in try c.query("SELECT pg_backend_pid()")[0].int64(0) }
            XCTAssertTrue(newPid != pid)
            XCTAssertTrue(try registry.round(id: round.id).validSimulations == 10)
        }
    }

    func testARegistryWhoseServerStaysDownSaysSoAndRecoversWhenItIsBack() throws {
        try Backend.requirePostgres()
        try withRegistry(.postgres) { registry, scratch in
            _ = try seedExperiment(registry)
            // Refuse new connections to this database, then end the current one: the
            // server is "down" for this registry until connections are allowed again.
            let name = String(scratch.url.split(separator: "/").last!.split(separator: "?").first!)
            let admin = try PostgresConnection(url: Backend.postgresURL!, redactedURL: "")
            defer { admin.close() }
            try admin.run("ALTER DATABASE \(name) ALLOW_CONNECTIONS false")
            let pid = try registry.read("test") { c in try c.query("SELECT pg_backend_pid()")[0].int64(0) }
            try terminate(pid, adminURL: Backend.postgresURL!)
            let down = expectRegistryError(.unavailable) { _ = try registry.experiments() }
            XCTAssertTrue(down?.message.contains("cannot connect") == true)
            guard case .lost = registry.connectionState else { return XCTFail("state \(registry.connectionState), expected lost") }
            try admin.run("ALTER DATABASE \(name) ALLOW_CONNECTIONS true")
            XCTAssertTrue(try registry.experiments().map(\.name) == ["gauss"])
            XCTAssertEqual(registry.connectionState, .connected)
        }
    }

    /// The session ends after a batch's insert, before COMMIT: the registry cannot know
    /// whether the server stored the batch, says so instead of retrying, and the batch
    /// can be sent again.
    func testAConnectionLostWhileCommittingSaysTheOutcomeIsUnknown() throws {
        try Backend.requirePostgres()
        try withRegistry(.postgres) { registry, scratch in
            let (_, round) = try seedExperiment(registry)
            let pid = try registry.read("test") { c in try c.query("SELECT pg_backend_pid()")[0].int64(0) }
            // The batch is one chunk, so the statement after this hook is COMMIT.
            registry.faultAfterInsertChunk = { _ in try self.terminate(pid, adminURL: scratch.url) }
            let unknown = expectRegistryError(.commitOutcomeUnknown) {
                try registry.appendSimulations(round: round.id, records(0..<10), worker: "w")
            }
            XCTAssertTrue(unknown?.message.contains("may or may not be stored") == true, "\(String(describing: unknown))")
            registry.faultAfterInsertChunk = nil
            guard case .lost = registry.connectionState else { return XCTFail("state \(registry.connectionState), expected lost") }
            // Here the session died before COMMIT reached it, so the resent batch is all new.
            XCTAssertEqual(try registry.appendSimulations(round: round.id, records(0..<10), worker: "w").inserted, 10)
            XCTAssertEqual(try registry.round(id: round.id).validSimulations, 10)
        }
    }

    /// A transaction whose connection breaks runs once more on a fresh connection, and
    /// only once: a second break is reported, and the registry still works afterwards.
    func testAConnectionLostAgainAfterReconnectingIsReportedNotRetriedForever() throws {
        try Backend.requirePostgres()
        try withRegistry(.postgres) { registry, scratch in
            var runs = 0
            let lost = expectRegistryError(.connectionLost) {
                try registry.write("test") { c in
                    runs += 1
                    let pid = try c.query("SELECT pg_backend_pid()")[0].int64(0)
                    try self.terminate(pid, adminURL: scratch.url)
                    try c.run("SELECT 1")
                }
            }
            XCTAssertEqual(runs, 2, "one run and one retry on a fresh connection")
            XCTAssertTrue(lost?.message.contains("again after reconnecting") == true, "\(String(describing: lost))")
            XCTAssertEqual(try registry.experiments().count, 0)
            XCTAssertEqual(registry.connectionState, .connected)
        }
    }

    /// PostgreSQL's deadlock and serialisation aborts (SQLSTATE 40P01, 40001) run the
    /// transaction again, up to eight times; then the error is reported.
    func testConflictsAreRetriedUpToTheCapThenReported() throws {
        try Backend.requirePostgres()
        try withRegistry(.postgres) { registry, _ in
            var runs = 0
            let refused = expectRegistryError(.database) {
                try registry.write("test") { c in
                    runs += 1
                    try c.run("DO $$ BEGIN RAISE EXCEPTION 'forced conflict' USING ERRCODE = '40001'; END $$")
                }
            }
            XCTAssertEqual(runs, 9, "the first run and eight retries")
            XCTAssertTrue(refused?.message.contains("forced conflict") == true, "\(String(describing: refused))")

            var tries = 0
            let value = try registry.write("test") { c -> Int in
                tries += 1
                if tries < 3 { try c.run("DO $$ BEGIN RAISE EXCEPTION 'deadlock' USING ERRCODE = '40P01'; END $$") }
                return try c.query("SELECT 7")[0].int(0)
            }
            XCTAssertEqual(value, 7)
            XCTAssertEqual(tries, 3, "a conflict that clears is retried until the transaction commits")
        }
    }

    func testAReadOnlyUserCanReadAnUpToDateRegistry() throws {
        try Backend.requirePostgres()
        try withRegistry(.postgres) { registry, scratch in
            _ = try seedExperiment(registry)
            let role = "ili_ro_\(UUID().uuidString.prefix(8).lowercased())"
            // The role name is ours (hex digits): GRANT and CREATE ROLE take no bind parameters.
            let owner = try PostgresConnection(url: scratch.url, redactedURL: "")
            defer { owner.close() }
            try owner.run("CREATE ROLE \(role) LOGIN")
            defer {
                _ = try? owner.run("DROP OWNED BY \(role)")
                _ = try? owner.run("DROP ROLE \(role)")
            }
            try owner.run("GRANT SELECT ON ALL TABLES IN SCHEMA public TO \(role)")
            let readOnlyURL = scratch.url.replacingOccurrences(of: #"://[^@/]*@"#, with: "://\(role)@", options: .regularExpression)
            let reader = try Registry(url: readOnlyURL)
            defer { reader.close() }
            XCTAssertEqual(try reader.experiments().map(\.name), ["gauss"])
            XCTAssertEqual(try reader.trainingData(experiment: "gauss", rounds: 0...0).count, 0)
            let refused = expectRegistryError(.database) {
                _ = try reader.createExperiment(ExperimentSpec(name: "x", prior: "{}", thetaDimension: 1, xShape: [1]))
            }
            XCTAssertTrue(refused?.message.contains("permission denied") == true, "\(String(describing: refused))")
        }
    }

    private func terminate(_ pid: Int64, adminURL: String) throws {
        let admin = try PostgresConnection(url: adminURL, redactedURL: "")
        defer { admin.close() }
        XCTAssertTrue(try admin.query("SELECT pg_terminate_backend($1)", [.integer(pid)])[0].bool(0))
        // pg_terminate_backend only signals; wait until the session is gone.
        let deadline = Date().addingTimeInterval(60)
        while try admin.query("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", [.integer(pid)])[0].int(0) > 0 {
            guard Date() < deadline else { throw RegistryError(.io, "session \(pid) was still there a minute after pg_terminate_backend") }
            Thread.sleep(forTimeInterval: 0.01)
        }
    }

    /// A loopback port nobody listens on: bound, then released.
    private func closedLoopbackPort() throws -> Int {
        #if os(Linux)
        let stream = Int32(SOCK_STREAM.rawValue)
        #else
        let stream = SOCK_STREAM
        #endif
        let fd = socket(AF_INET, stream, 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        try withUnsafeMutablePointer(to: &address) { pointer in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                guard bind(fd, $0, length) == 0, getsockname(fd, $0, &length) == 0 else { throw RegistryError(.io, "no free port") }
            }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
