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
        if let problem = threadCountProblem("ILI_BLAS_THREADS", environment, fallback: "one BLAS thread") {
            report.problems.append(problem)
        }
        report.lines.append(("Row threads", "\(RowParallelism.processDefault) per network evaluation (of \(cores) cores; ILI_THREADS overrides)"))
        if RowParallelism.processDefault > cores {
            report.warnings.append("ILI_THREADS=\(RowParallelism.processDefault) exceeds the \(cores) cores: training steps will oversubscribe.")
        }
        if let problem = threadCountProblem("ILI_THREADS", environment, fallback: "every core (\(cores))") {
            report.problems.append(problem)
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
            let (line, problem) = registryCheck(url)
            report.lines.append(("ILI_REGISTRY", line))
            if let problem { report.problems.append(problem) }
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

    /// A problem when `name` is set to anything but a whole number above 0 (which the
    /// binary then ignores, using `fallback`).
    static func threadCountProblem(_ name: String, _ environment: [String: String], fallback: String) -> String? {
        guard let text = environment[name] else { return nil }
        if let n = Int(text.trimmingCharacters(in: .whitespaces)), n > 0 { return nil }
        return "\(name)=\(text) is not a whole number of threads above 0, so ili ignores it and uses \(fallback); set it to a number such as 2, or unset it."
    }

    /// The registry URL's line (password hidden) and a problem when the URL cannot be used:
    /// not a registry URL, or a SQLite file in a folder that does not exist. The database is
    /// not contacted.
    static func registryCheck(_ text: String) -> (line: String, problem: String?) {
        let url: RegistryURL
        do {
            url = try RegistryURL(text)
        } catch {
            return (RegistryURL.redacting(text), "ILI_REGISTRY: \(error)")
        }
        guard case .sqlite(let path) = url, path != ":memory:", !path.hasPrefix("file:") else {
            return (url.redacted, nil)
        }
        let fm = FileManager.default
        if fm.fileExists(atPath: path) { return (url.redacted, nil) }
        let folder = (path as NSString).deletingLastPathComponent
        var isDirectory: ObjCBool = false
        if folder.isEmpty || (fm.fileExists(atPath: folder, isDirectory: &isDirectory) && isDirectory.boolValue) {
            return (url.redacted + " (no file yet: `ili registry init` creates it)", nil)
        }
        return (url.redacted, "ILI_REGISTRY names \(url.redacted), but its folder \(folder) does not exist: fix the path, or run `ili registry init`, which creates the folder and the file.")
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
