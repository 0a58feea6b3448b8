import ArgumentParser
import CZeroMQ
import Foundation
import ILIFleet
import ILIRegistry
import ILITensor

/// `ili doctor`: reports the native libraries this binary linked and what is misconfigured.
struct Doctor: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Report the linked libraries (libzmq, OpenBLAS, libpq, SQLite) and configuration problems.",
        discussion: """
            Prints one line per library with the version the running binary linked, the \
            OpenBLAS build and thread count, and the PostgreSQL server tools that `ops/test` \
            uses. Each problem is printed with what to do about it; the exit status is 1 \
            when there is at least one problem, 0 otherwise.
            """
    )

    func run() throws {
        let report = DoctorReport.gather(environment: ProcessInfo.processInfo.environment)
        print(report.rendered)
        if !report.problems.isEmpty { throw ExitCode(1) }
    }
}

/// What `ili doctor` found; separate from printing so that tests can read it.
struct DoctorReport {
    var lines: [(String, String)] = []
    var problems: [String] = []
    var warnings: [String] = []

    static func gather(environment: [String: String]) -> DoctorReport {
        var report = DoctorReport()
        let cores = ProcessInfo.processInfo.activeProcessorCount

        var major: Int32 = 0, minor: Int32 = 0, patch: Int32 = 0
        zmq_version(&major, &minor, &patch)
        report.lines.append(("libzmq", "\(major).\(minor).\(patch)"))
        if major < 4 {
            report.problems.append("libzmq \(major).\(minor) is too old: ili needs 4.x (install libzmq3-dev).")
        }
        report.lines.append(("CURVE", CurveKeyPair.isAvailable
            ? "available (tcp endpoints of the fleet are encrypted and authenticated)"
            : "NOT available in this libzmq: tcp endpoints cannot be secured"))
        if !CurveKeyPair.isAvailable {
            report.warnings.append("this libzmq has no CURVE: the fleet can serve only inproc:// and ipc:// endpoints (or tcp with --insecure); install Debian's libzmq5, which has it.")
        }

        let defaultThreads = BLASConfiguration.useDefaultThreadCount(environment: environment)
        report.lines.append(("OpenBLAS", BLASConfiguration.configString))
        report.lines.append(("OpenBLAS core", BLASConfiguration.coreName))
        report.lines.append(("OpenBLAS threads", "\(defaultThreads) per process (of \(cores) cores; ILI_BLAS_THREADS overrides)"))
        if defaultThreads > cores {
            report.warnings.append("ILI_BLAS_THREADS=\(defaultThreads) exceeds the \(cores) cores: BLAS calls will oversubscribe.")
        }
        report.lines.append(("Row threads", "\(RowParallelism.processDefault) per network evaluation (of \(cores) cores; ILI_THREADS overrides)"))
        if RowParallelism.processDefault > cores {
            report.warnings.append("ILI_THREADS=\(RowParallelism.processDefault) exceeds the \(cores) cores: training steps will oversubscribe.")
        }
        if let coreType = environment["OPENBLAS_CORETYPE"] {
            report.lines.append(("OPENBLAS_CORETYPE", coreType))
        }

        report.lines.append(("build target", BuildTarget.assumesAVX2 ? "x86-64 with AVX2 and FMA" : "portable"))
        let missing = BuildTarget.missingCPUFeatures
        if !missing.isEmpty {
            report.problems.append("this CPU lacks \(missing.joined(separator: " and ")), which this build of ili uses; rebuild with `ILI_PORTABLE=1 swift build -c release`.")
        }

        report.lines.append(("libpq", RegistryBackends.libpqVersion))
        report.lines.append(("SQLite", RegistryBackends.sqliteVersion + (RegistryBackends.sqliteIsThreadSafe ? " (thread-safe)" : "")))
        if !RegistryBackends.sqliteIsThreadSafe {
            report.problems.append("SQLite was built without thread safety (SQLITE_THREADSAFE=0); the registry needs a thread-safe build.")
        }

        if let bin = postgresServerDirectory() {
            report.lines.append(("PostgreSQL server", bin))
        } else {
            report.warnings.append("PostgreSQL server tools (initdb, pg_ctl) not found: the fleet can still use a remote database, but ops/test needs them (run ops/install-deps).")
        }

        if let url = environment["ILI_REGISTRY"] {
            report.lines.append(("ILI_REGISTRY", redactingPassword(in: url)))
        } else {
            report.lines.append(("ILI_REGISTRY", "unset (commands that need a registry take --registry)"))
        }
        return report
    }

    var rendered: String {
        let width = lines.map(\.0.count).max() ?? 0
        var out = lines.map { name, value in
            name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + value
        }
        out += warnings.map { "warning: " + $0 }
        out += problems.map { "problem: " + $0 }
        out.append(problems.isEmpty ? "ok: ili has what it needs" : "\(problems.count) problem(s) found")
        return out.joined(separator: "\n")
    }

    private static func postgresServerDirectory() -> String? {
        let fm = FileManager.default
        let versions = (try? fm.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        for v in versions.sorted(by: >) {
            let dir = "/usr/lib/postgresql/\(v)/bin"
            if fm.isExecutableFile(atPath: dir + "/initdb") && fm.isExecutableFile(atPath: dir + "/pg_ctl") {
                return dir
            }
        }
        return nil
    }
}

/// Replaces the password of a `scheme://user:password@host/...` URL with `***`.
func redactingPassword(in url: String) -> String {
    guard let schemeEnd = url.range(of: "://"),
          let at = url[schemeEnd.upperBound...].firstIndex(of: "@") else { return url }
    let userInfo = url[schemeEnd.upperBound..<at]
    guard let colon = userInfo.firstIndex(of: ":") else { return url }
    return String(url[..<url.index(after: colon)]) + "***" + String(url[at...])
}
