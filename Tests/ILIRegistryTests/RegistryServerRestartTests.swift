import Foundation
@testable import ILIRegistry
import XCTest

/// A PostgreSQL server that really stops and starts again, on a cluster of this test's
/// own (ops/pg-throwaway), so that stopping it disturbs no other test.
final class RegistryServerRestartTests: XCTestCase {
    func testAServerThatStopsAndStartsAgainIsReconnectedTo() throws {
        try Backend.requirePostgres()
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let script = repository.appendingPathComponent("ops/pg-throwaway").path
        let started = try shell(["bash", script])
        guard let url = exported("ILI_TEST_DATABASE_URL", in: started), let dir = exported("ILI_PG_DIR", in: started) else {
            return XCTFail("ops/pg-throwaway printed no URL:\n\(started)")
        }
        defer { _ = try? shell(["bash", script, "stop", dir]) }

        let registry = try Registry(url: url)
        defer { registry.close() }
        _ = try seedExperiment(registry)

        try pgCtl(["-D", dir + "/data", "-m", "fast", "-w", "stop"])
        let down = expectRegistryError(.unavailable) { _ = try registry.experiments() }
        XCTAssertTrue(down?.message.contains("cannot connect") == true, "\(String(describing: down))")
        guard case .lost = registry.connectionState else { return XCTFail("state \(registry.connectionState), expected lost") }

        // restart reuses the options the server was started with (postmaster.opts), port included.
        try pgCtl(["-D", dir + "/data", "-l", dir + "/server.log", "-w", "-t", "60", "restart"])
        XCTAssertEqual(try registry.experiments().map(\.name), ["gauss"])
        XCTAssertEqual(registry.connectionState, .connected)
    }

    private func exported(_ name: String, in output: String) -> String? {
        output.split(separator: "\n").first { $0.hasPrefix("export \(name)=") }.map { String($0.dropFirst("export \(name)=".count)) }
    }

    /// Runs pg_ctl as the cluster's owner: PostgreSQL refuses to run as root, so
    /// ops/pg-throwaway made the cluster as `postgres` when the tests run as root.
    private func pgCtl(_ arguments: [String]) throws {
        let bin = try FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql").sorted().reversed()
            .map { "/usr/lib/postgresql/\($0)/bin/pg_ctl" }.first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let bin else { throw XCTSkip("pg_ctl not found under /usr/lib/postgresql") }
        _ = try shell(getuid() == 0 ? ["runuser", "-u", "postgres", "--", bin] + arguments : [bin] + arguments)
    }

    /// Runs a command and returns its output. Not Foundation's Process: on Linux it learns
    /// that a child exited through a socket the child inherits, and the server pg_ctl
    /// starts keeps that socket open, so waitUntilExit would wait for the server to stop.
    /// posix_spawn and waitpid wait for the command alone; its output goes to a file.
    @discardableResult
    private func shell(_ arguments: [String]) throws -> String {
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
