import Foundation
@testable import ILIRegistry
import ILITensor
import XCTest

/// A registry made by an older ili (schema version 1, before `ili run`'s migration 2 and the
/// round counters of migration 3) is upgraded in place when a newer one opens it: the data
/// stay, the new columns take their defaults, and the counters count what was stored.
final class SchemaUpgradeTests: XCTestCase {
    func testSQLiteUpgradesFromVersionOne() throws { try upgradesFromVersionOne(.sqlite) }

    func testPostgreSQLUpgradesFromVersionOne() throws {
        try Backend.requirePostgres()
        try upgradesFromVersionOne(.postgres)
    }

    func upgradesFromVersionOne(_ backend: Backend) throws {
        let scratch = try ScratchDatabase(backend)
        defer { scratch.drop() }
        let connection: SQLConnection
        switch try RegistryURL(scratch.url) {
        case .sqlite(let path): connection = try SQLiteConnection(path: path)
        case .postgres(let url): connection = try PostgresConnection(url: url, redactedURL: "")
        }
        XCTAssertEqual(try Migration.migrate(connection, redactedURL: "", through: 1), 1)
        // What version 1 could hold: an experiment, a round with simulations, a posterior.
        try connection.run("INSERT INTO experiments (name, config, prior, theta_dim, x_shape) VALUES ('old', '{}', '{}', 1, '1')")
        try connection.run("""
            INSERT INTO rounds (experiment_id, round_index, strategy, proposal, target_count, status)
            VALUES (1, 0, 'prior', '{}', 2, 'simulating')
            """)
        let floats: [UInt8] = FloatArrayCoding.encode([0.5])
        for task in ["a", "b"] {
            try connection.run("""
                INSERT INTO simulations (round_id, task_id, theta, theta_shape, x, x_shape, valid, worker_id)
                VALUES (1, $1, $2, '1', $2, '1', $3, 'w')
                """, [.text(task), .blob(floats), .bool(true)])
        }
        try connection.run("""
            INSERT INTO model_versions (experiment_id, round_id, method, estimator, member, weights, weights_sha256, training_summary)
            VALUES (1, 1, 'NPE', '{}', 0, $1, $2, '{}')
            """, [.blob([1, 2, 3]), .text(SHA256.hex([1, 2, 3]))])
        try connection.run("INSERT INTO posteriors (experiment_id, round_id, method) VALUES (1, 1, 'NPE')")
        connection.close()

        let registry = try Registry(url: scratch.url)
        defer { registry.close() }
        XCTAssertEqual(registry.schemaVersion, Migration.latestVersion(for: backend == .postgres ? .postgres : .sqlite))
        let round = try registry.round(experiment: "old", index: 0)
        XCTAssertEqual(round.validSimulations, 2, "version 1's simulations are training simulations")
        XCTAssertEqual(round.validTestSimulations, 0)
        XCTAssertEqual(try registry.trainingData(experiment: "old", rounds: 0...0).x, [0.5, 0.5])
        XCTAssertEqual(try registry.testData(experiment: "old", round: 0).count, 0)
        XCTAssertEqual(try registry.posterior(id: 1).settings, "{}")
        // And the upgraded registry takes what version 2 adds.
        try registry.appendSimulations(round: round.id, [SimulationRecord(taskId: "t", theta: [0.1], x: [0.2], purpose: .test)], worker: "w")
        XCTAssertEqual(try registry.testData(experiment: "old", round: 0).x, [0.2])
        // The counters the upgrade filled from the stored rows go on from there.
        let counted = try registry.round(id: round.id)
        XCTAssertEqual([counted.validSimulations, counted.invalidSimulations, counted.validTestSimulations, counted.invalidTestSimulations],
                       [2, 0, 1, 0])
    }
}
