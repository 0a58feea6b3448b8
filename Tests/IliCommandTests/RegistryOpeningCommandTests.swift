import Foundation
import ILIRegistry
import XCTest

/// Commands that only read a registry never create one at a mistyped SQLite path; `ili
/// registry init` makes the folders a new registry needs, or names the one it cannot.
final class RegistryOpeningCommandTests: ScratchDirectoryTestCase {
    func ili(_ arguments: [String]) throws -> BinaryRunner.Result {
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "ILI_REGISTRY")
        return try BinaryRunner.run(["registry"] + arguments, environment: environment)
    }

    func testReadOnlyCommandsRefuseAMissingFileAndLeaveNoneBehind() throws {
        let typo = path("regsitry.db")
        let url = "sqlite:" + typo
        let commands: [[String]] = [
            ["experiments"], ["rounds", "--experiment", "e"], ["models", "--experiment", "e"],
            ["posteriors", "--experiment", "e"], ["show", "experiment-1"], ["latest", "--experiment", "e"],
            ["export", "posterior-1", path("exported")],
        ]
        for command in commands {
            let result = try ili(command + ["--registry", url])
            XCTAssertEqual(result.status, 1, "\(command): \(result.stdout)\(result.stderr)")
            XCTAssertTrue(result.stderr.hasPrefix("Error: ") && result.stderr.contains("no SQLite registry at \(url)")
                          && result.stderr.contains("does not exist"), "\(command): \(result.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: typo), "\(command) created \(typo)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("exported")))
    }

    func testInitCreatesMissingFoldersAndReadersThenOpenIt() throws {
        let nested = path("runs/2026/registry.db")
        let created = try ili(["init", "--registry", "sqlite:" + nested])
        XCTAssertEqual(created.status, 0, created.stdout + created.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: nested))
        let listed = try ili(["experiments", "--registry", "sqlite:" + nested, "--json"])
        XCTAssertEqual(listed.status, 0, listed.stdout + listed.stderr)
        let list = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [Any])
        XCTAssertTrue(list.isEmpty, listed.stdout)
    }

    func testInitNamesTheFolderItCannotMake() throws {
        try Data("not a folder".utf8).write(to: URL(fileURLWithPath: path("blocker")))
        let result = try ili(["init", "--registry", "sqlite:" + path("blocker/sub/registry.db")])
        XCTAssertEqual(result.status, 1, result.stdout + result.stderr)
        XCTAssertTrue(result.stderr.contains("cannot create the folder \(path("blocker/sub"))")
                      && result.stderr.contains("\(path("blocker")) is a file, not a folder"), result.stderr)
    }
}
