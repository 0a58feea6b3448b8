import Foundation
@testable import ILIRegistry
import XCTest

/// The back ends the registry tests run against. SQLite always; PostgreSQL when
/// ILI_TEST_DATABASE_URL names a server. Without one its tests skip, unless
/// ILI_REQUIRE_DATABASE=1 or ILI_REQUIRE_ALL=1 (both set by CI) makes that a failure.
enum Backend: String, Sendable {
    case sqlite, postgres

    static var environment: [String: String] { ProcessInfo.processInfo.environment }
    static var postgresURL: String? { environment["ILI_TEST_DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 } }
    static var postgresRequired: Bool { environment["ILI_REQUIRE_DATABASE"] == "1" || environment["ILI_REQUIRE_ALL"] == "1" }

    static func requirePostgres() throws {
        guard postgresURL == nil else { return }
        if postgresRequired {
            XCTFail("PostgreSQL is required (ILI_REQUIRE_DATABASE or ILI_REQUIRE_ALL) but ILI_TEST_DATABASE_URL is unset: run the tests through ops/test")
        }
        throw XCTSkip("PostgreSQL tests need ILI_TEST_DATABASE_URL (ops/test starts a throwaway server)")
    }
}

/// A database that exists for one test: a temporary SQLite file, or a PostgreSQL
/// database with a random name created on the server from ILI_TEST_DATABASE_URL and
/// dropped afterwards.
struct ScratchDatabase: Sendable {
    let backend: Backend
    let url: String
    private let cleanup: @Sendable () -> Void

    init(_ backend: Backend) throws {
        self.backend = backend
        let suffix = UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
        switch backend {
        case .sqlite:
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ili-registry-test-\(suffix)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            url = "sqlite:" + dir.appendingPathComponent("registry.db").path
            cleanup = { try? FileManager.default.removeItem(at: dir) }
        case .postgres:
            guard let admin = Backend.postgresURL else {
                throw RegistryError(.unavailable, "PostgreSQL tests need ILI_TEST_DATABASE_URL: run the tests through ops/test")
            }
            // The name is ours (hex digits), so it is safe to splice: CREATE DATABASE takes no bind parameters.
            let name = "ili_t_\(suffix)"
            let connection = try PostgresConnection(url: admin, redactedURL: RegistryURL.redacting(admin))
            try connection.run("CREATE DATABASE \(name)")
            connection.close()
            url = ScratchDatabase.replacingDatabase(in: admin, with: name)
            cleanup = {
                if let c = try? PostgresConnection(url: admin, redactedURL: "") {
                    _ = try? c.run("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
                    c.close()
                }
            }
        }
    }

    func drop() { cleanup() }

    /// Replaces the path (database name) of a postgresql:// URL, keeping any query string.
    static func replacingDatabase(in url: String, with name: String) -> String {
        guard let schemeEnd = url.range(of: "://") else { return url }
        let rest = url[schemeEnd.upperBound...]
        let query = rest.firstIndex(of: "?").map { String(rest[$0...]) } ?? ""
        let authority = rest.prefix { $0 != "/" && $0 != "?" }
        return String(url[..<schemeEnd.upperBound]) + authority + "/" + name + query
    }
}

/// Runs `body` with a registry on a fresh database of `backend`, dropped afterwards.
func withRegistry(_ backend: Backend, _ body: (Registry, ScratchDatabase) throws -> Void) throws {
    let scratch = try ScratchDatabase(backend)
    defer { scratch.drop() }
    let registry = try Registry(url: scratch.url)
    defer { registry.close() }
    try body(registry, scratch)
}

/// An experiment with θ of 3 floats and x of shape [2, 2], and round 0 open for simulations.
func seedExperiment(_ registry: Registry, name: String = "gauss") throws -> (Experiment, Round) {
    let exp = try registry.createExperiment(ExperimentSpec(
        name: name, config: #"{"simulator": "gaussian"}"#, prior: #"{"uniform": {"low": [-1, -1, -1], "high": [1, 1, 1]}}"#,
        thetaDimension: 3, xShape: [2, 2]))
    let round = try registry.openRound(experiment: name, strategy: "prior", targetCount: 100)
    try registry.advanceRound(id: round.id, to: .simulating)
    return (exp, try registry.round(id: round.id))
}

/// Deterministic records `task-<prefix>-<i>` whose θ and x encode `i`, for checking contents.
func records(_ range: Range<Int>, prefix: String = "a") -> [SimulationRecord] {
    range.map { i in
        let f = Float(i)
        return SimulationRecord(taskId: "task-\(prefix)-\(i)", theta: [f, f + 0.5, -f], x: [f, 2 * f, 3 * f, 0.25])
    }
}

/// Asserts that `body` throws a `RegistryError` with `code`, and returns it.
@discardableResult
func expectRegistryError(_ code: RegistryError.Code, file: StaticString = #filePath, line: UInt = #line,
                         _ body: () throws -> Void) -> RegistryError? {
    do {
        try body()
        XCTFail("expected \(code), but nothing was thrown", file: file, line: line)
    } catch let error as RegistryError {
        XCTAssertEqual(error.code, code, "\(error)", file: file, line: line)
        return error
    } catch {
        XCTFail("expected RegistryError \(code), got \(error)", file: file, line: line)
    }
    return nil
}
