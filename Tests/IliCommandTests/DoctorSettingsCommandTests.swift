import Foundation
import XCTest

/// `ili doctor` checks each setting it reports and exits 1 on a bad one.
final class DoctorSettingsCommandTests: ScratchDirectoryTestCase {
    func doctor(_ settings: [String: String]) throws -> BinaryRunner.Result {
        var environment = ProcessInfo.processInfo.environment
        for key in ["ILI_REGISTRY", "ILI_THREADS", "ILI_BLAS_THREADS"] { environment.removeValue(forKey: key) }
        environment.merge(settings) { $1 }
        return try BinaryRunner.run(["doctor"], environment: environment)
    }

    func testGoodSettingsPass() throws {
        try Data().write(to: URL(fileURLWithPath: path("registry.db")))
        for settings in [["ILI_REGISTRY": "sqlite:" + path("registry.db"), "ILI_THREADS": "1", "ILI_BLAS_THREADS": "1"],
                         ["ILI_REGISTRY": "sqlite:" + path("new.db")],
                         ["ILI_REGISTRY": "postgresql://ili:pw@db.example:5432/ili"]] {
            let result = try doctor(settings)
            XCTAssertFalse(result.stdout.contains("problem: ILI_"), "\(settings):\n\(result.stdout)")
        }
        XCTAssertTrue(try doctor(["ILI_REGISTRY": "sqlite:" + path("new.db")]).stdout.contains("no file yet"))
    }

    func testARegistryURLOfAnotherKindIsAProblem() throws {
        let result = try doctor(["ILI_REGISTRY": "mysql://root:hunter2@db/ili"])
        XCTAssertEqual(result.status, 1, result.stdout)
        XCTAssertTrue(result.stdout.contains("problem: ILI_REGISTRY: ") && result.stdout.contains("is not a registry URL"), result.stdout)
        XCTAssertFalse(result.stdout.contains("hunter2"), result.stdout)
    }

    func testASQLiteFileInAMissingFolderIsAProblem() throws {
        let result = try doctor(["ILI_REGISTRY": "sqlite:" + path("no/such/folder/registry.db")])
        XCTAssertEqual(result.status, 1, result.stdout)
        XCTAssertTrue(result.stdout.contains("its folder \(path("no/such/folder")) does not exist"), result.stdout)
    }

    func testThreadCountsThatAreNotPositiveWholeNumbersAreProblems() throws {
        for (name, value) in [("ILI_THREADS", "abc"), ("ILI_THREADS", "0"), ("ILI_THREADS", "-3"), ("ILI_BLAS_THREADS", "two")] {
            let result = try doctor([name: value])
            XCTAssertEqual(result.status, 1, "\(name)=\(value):\n\(result.stdout)")
            XCTAssertTrue(result.stdout.contains("problem: \(name)=\(value) is not a whole number of threads above 0"),
                          "\(name)=\(value):\n\(result.stdout)")
        }
    }

    func testPasswordsAreHiddenInEveryFormTheDoctorPrints() throws {
        for url in ["postgresql://u@db.example/ili?sslmode=require&password=hunter2", "postgresql://u:hunter2@db.example/ili"] {
            let result = try doctor(["ILI_REGISTRY": url])
            XCTAssertFalse(result.stdout.contains("hunter2"), result.stdout)
            XCTAssertTrue(result.stdout.contains("***"), result.stdout)
        }
    }
}
