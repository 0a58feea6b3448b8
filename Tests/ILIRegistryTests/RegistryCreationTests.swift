import Foundation
import ILIRegistry
import XCTest

/// `Registry(url:createIfMissing:createFolders:)` on SQLite paths: only an opening that may
/// create makes a file, and only one asked to makes the folders above it.
final class RegistryCreationTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("ili-registry-creation-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func testWithoutCreatingAMissingFileIsAnErrorNamingIt() throws {
        let path = directory.appendingPathComponent("missing.db").path
        XCTAssertThrowsError(try Registry(url: "sqlite:" + path, createIfMissing: false)) { error in
            XCTAssertEqual((error as? RegistryError)?.code, .unavailable)
            XCTAssertTrue("\(error)".contains("no SQLite registry at sqlite:\(path)"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
    }

    func testCreatingMakesTheFoldersWhenAskedAndAnExistingFileOpensEitherWay() throws {
        let path = directory.appendingPathComponent("a/b/registry.db").path
        XCTAssertThrowsError(try Registry(url: "sqlite:" + path), "without createFolders the folder must exist")
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.appendingPathComponent("a").path))
        let created = try Registry(url: "sqlite:" + path, createFolders: true)
        _ = try created.createExperiment(ExperimentSpec(name: "e", prior: "{}", thetaDimension: 1, xShape: [1]))
        created.close()
        let reopened = try Registry(url: "sqlite:" + path, createIfMissing: false)
        defer { reopened.close() }
        XCTAssertEqual(try reopened.experiments().map(\.name), ["e"])
    }
}
