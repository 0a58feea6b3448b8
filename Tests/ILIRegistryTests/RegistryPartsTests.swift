import Foundation
@testable import ILIRegistry
import XCTest
import ILITensor

/// The pieces under the registry: hashing, float coding, URLs, the round state machine,
/// and the embedded copy of the migration files.
final class RegistryPartsTests: XCTestCase {
    /// A process started by `ChildAppender` does its appending here and exits; in a
    /// normal run this returns at once.
    override func setUpWithError() throws {
        try super.setUpWithError()
        ChildAppender.runIfThisProcessIsOne()
    }

    func testSha256MatchesTheStandardVectors() {
        XCTAssertTrue(SHA256.hex([UInt8]()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertTrue(SHA256.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertTrue(SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertTrue(SHA256.hex([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000))
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        // Lengths around the padding boundary (55, 56, 64 bytes) take different paths.
        XCTAssertTrue(SHA256.hex([UInt8](repeating: 0x61, count: 55)) == "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318")
        XCTAssertTrue(SHA256.hex([UInt8](repeating: 0x61, count: 56)) == "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a")
        XCTAssertTrue(SHA256.hex([UInt8](repeating: 0x61, count: 64)) == "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb")
    }

    func testFloatsAreStoredLittleEndian() throws {
        XCTAssertTrue(FloatArrayCoding.encode([1.0, -2.5]) == [0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x20, 0xc0])
        let values: [Float] = [0, -0.0, .pi, 1e-38, 3.4e38, -7.25]
        XCTAssertTrue(FloatArrayCoding.decode(FloatArrayCoding.encode(values))?.map(\.bitPattern) == values.map(\.bitPattern))
        XCTAssertTrue(FloatArrayCoding.decode([1, 2, 3]) == nil)
        XCTAssertTrue(FloatArrayCoding.shape("2,5") == [2, 5] && FloatArrayCoding.shapeText([2, 5]) == "2,5")
        XCTAssertTrue(FloatArrayCoding.shape("0") == nil && FloatArrayCoding.shape("") == nil)
    }

    func testUrlsSelectTheBackEndAndHidePasswords() throws {
        XCTAssertTrue(try RegistryURL("sqlite:runs/r.db") == .sqlite(path: "runs/r.db"))
        XCTAssertTrue(try RegistryURL("sqlite:///tmp/r.db") == .sqlite(path: "/tmp/r.db"))
        XCTAssertTrue(try RegistryURL("postgres://u@h/db") == .postgres("postgres://u@h/db"))
        XCTAssertTrue(try RegistryURL("postgresql://alice:s3cr3t@db:5432/ili").redacted == "postgresql://alice:***@db:5432/ili")
        XCTAssertTrue(RegistryURL.redacting("postgresql://h/db?user=a&password=pw&sslmode=require") == "postgresql://h/db?user=a&password=***&sslmode=require")
        XCTAssertTrue(RegistryURL.redacting("postgresql://alice@db/ili") == "postgresql://alice@db/ili")
        let bad = expectRegistryError(.invalidURL) { _ = try RegistryURL("mysql://bob:pw@x/y") }
        XCTAssertTrue(bad?.message.contains("pw") == false)
        expectRegistryError(.invalidURL) { _ = try RegistryURL("sqlite:") }
    }

    func testRoundStatusAllowsOnlyForwardStepsOrFailure() {
        let order: [RoundStatus] = [.planned, .simulating, .training, .validating, .done]
        for (from, to) in zip(order, order.dropFirst()) { XCTAssertTrue(from.canAdvance(to: to)) }
        for status in RoundStatus.allCases {
            XCTAssertTrue(status.canAdvance(to: .failed) == !status.isFinished)
            XCTAssertTrue(!status.canAdvance(to: status))
        }
        XCTAssertTrue(!RoundStatus.planned.canAdvance(to: .training))
        XCTAssertTrue(!RoundStatus.validating.canAdvance(to: .simulating))
        XCTAssertTrue(!RoundStatus.done.canAdvance(to: .planned))
    }

    func testPlaceholdersArePositionalOnSQLite() {
        XCTAssertTrue(SQLiteConnection.positionalPlaceholders("SELECT $1, $12 WHERE a = $2") == "SELECT ?1, ?12 WHERE a = ?2")
    }

    /// The binary migrates from the SQL embedded in Swift; this keeps it equal to schemas/.
    func testEmbeddedMigrationsEqualTheSchemaFiles() throws {
        for dialect in ["postgres", "sqlite"] { try checkEmbeddedMigrations(dialect) }
    }

    private func checkEmbeddedMigrations(_ dialect: String) throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let dir = root.appendingPathComponent("schemas/\(dialect)")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".sql") }.sorted()
        let embedded = dialect == "postgres" ? Migration.postgres : Migration.sqlite
        XCTAssertTrue(files == embedded.map { String(format: "%03d_%@.sql", $0.version, $0.name) })
        for migration in embedded {
            let file = dir.appendingPathComponent(String(format: "%03d_%@.sql", migration.version, migration.name))
            let text = try String(contentsOf: file, encoding: .utf8)
            XCTAssertTrue(text == migration.sql + "\n", "\(file.path) differs from its copy in Sources/ILIRegistry/\(dialect == "postgres" ? "Postgres" : "SQLite")Migrations.swift: paste the file there verbatim")
        }
    }
}
