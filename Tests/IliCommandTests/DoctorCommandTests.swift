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

    /// ILI_THREADS reaches the row threads the binary reports: a positive number as given
    /// (with a warning beyond the cores), anything else every core.
    func testDoctorReportsTheRowThreadsILIThreadsAsks() throws {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        for (value, expected) in [("1", 1), ("3", 3), ("0", cores), ("lots", cores), ("-1", cores)] {
            var env = ProcessInfo.processInfo.environment
            env["ILI_THREADS"] = value
            let result = try BinaryRunner.run(["doctor"], environment: env)
            XCTAssertNotNil(result.stdout.range(of: #"Row threads\s+\#(expected) per network evaluation"#, options: .regularExpression),
                            "ILI_THREADS=\(value):\n\(result.stdout)")
            XCTAssertEqual(result.stdout.contains("warning: ILI_THREADS="), expected > cores, "ILI_THREADS=\(value):\n\(result.stdout)")
        }
    }

    /// The build target line, and the CPU check against this machine's own /proc/cpuinfo:
    /// a problem (and exit 1) exactly when the build assumes AVX2 and FMA and the CPU lacks one.
    func testDoctorChecksTheCPUAgainstTheBuildTarget() throws {
        let result = try BinaryRunner.run(["doctor"])
        XCTAssertNotNil(result.stdout.range(of: #"build target\s+(x86-64 with AVX2 and FMA|portable)"#, options: .regularExpression), result.stdout)
        let assumesAVX2 = result.stdout.contains("x86-64 with AVX2 and FMA")
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let flagsLine = cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") } ?? ""
        let flags = Set(flagsLine.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == ":" }).map(String.init))
        let lacking = flags.isEmpty || !assumesAVX2 ? [] : ["avx2", "fma"].filter { !flags.contains($0) }
        XCTAssertEqual(result.stdout.contains("problem: this CPU lacks"), !lacking.isEmpty, result.stdout)
        if lacking.isEmpty {
            XCTAssertEqual(result.status, 0, result.stdout)
        } else {
            XCTAssertEqual(result.status, 1, result.stdout)
            XCTAssertTrue(result.stdout.contains(lacking.joined(separator: " and ")) && result.stdout.contains("ILI_PORTABLE=1"), result.stdout)
        }
    }
}
