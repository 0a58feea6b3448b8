import XCTest

final class DoctorCommandTests: XCTestCase {
    func testDoctorReportsEveryLinkedLibrary() throws {
        let result = try BinaryRunner.run(["doctor"])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        for name in ["libzmq", "OpenBLAS", "OpenBLAS threads", "libpq", "SQLite"] {
            XCTAssertTrue(result.stdout.contains("\n\(name) ") || result.stdout.hasPrefix("\(name) "),
                          "missing \(name) in:\n\(result.stdout)")
        }
        XCTAssertNotNil(result.stdout.range(of: #"libzmq\s+4\.\d+\.\d+"#, options: .regularExpression))
        XCTAssertNotNil(result.stdout.range(of: #"SQLite\s+3\.\d+"#, options: .regularExpression))
        XCTAssertTrue(result.stdout.contains("OpenBLAS 0."), result.stdout)
    }

    func testDoctorHonoursBLASThreadOverride() throws {
        var env = ProcessInfo.processInfo.environment
        env["ILI_BLAS_THREADS"] = "2"
        let result = try BinaryRunner.run(["doctor"], environment: env)
        XCTAssertTrue(result.stdout.contains("OpenBLAS threads   2 per process") ||
                      result.stdout.range(of: #"OpenBLAS threads\s+2 per process"#, options: .regularExpression) != nil,
                      result.stdout)
    }

    func testDoctorNeverPrintsTheRegistryPassword() throws {
        var env = ProcessInfo.processInfo.environment
        env["ILI_REGISTRY"] = "postgresql://alice:s3cr3t@db.example:5432/ili"
        let result = try BinaryRunner.run(["doctor"], environment: env)
        XCTAssertFalse(result.stdout.contains("s3cr3t"))
        XCTAssertTrue(result.stdout.contains("postgresql://alice:***@db.example:5432/ili"), result.stdout)
    }
}
