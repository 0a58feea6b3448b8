import Foundation
import XCTest

/// examples/python-fleet through `ops/fleet/launch-local`, as its README runs it: a
/// throwaway PostgreSQL, the coordinator, two Python workers running the example's
/// simulator.py over CURVE and a trainer, on a tiny budget. Every wait is bounded.
final class PythonFleetExampleTests: ScratchDirectoryTestCase {
    static let repository = ExamplesCommandTests.repository
    var launcher: Process?

    override func tearDownWithError() throws {
        // A launch that outlived its test is stopped through its own cleanup, then killed.
        if let launcher, launcher.isRunning {
            kill(launcher.processIdentifier, SIGTERM)
            let deadline = Date().addingTimeInterval(90)
            while launcher.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
            if launcher.isRunning { kill(launcher.processIdentifier, SIGKILL) }
        }
        try super.tearDownWithError()
    }

    /// ILI_FLEET_PYTHON (set by ops/test) when it imports pyzmq and numpy.
    func fleetPython() throws -> String? {
        guard let python = ProcessInfo.processInfo.environment["ILI_FLEET_PYTHON"], !python.isEmpty else { return nil }
        let check = Process()
        check.executableURL = URL(fileURLWithPath: python)
        check.arguments = ["-c", "import zmq, numpy"]
        check.standardOutput = FileHandle.nullDevice
        check.standardError = FileHandle.nullDevice
        do { try check.run() } catch { return nil }
        check.waitUntilExit()
        return check.terminationStatus == 0 ? python : nil
    }

    func text(_ name: String) -> String { (try? String(contentsOfFile: path(name), encoding: .utf8)) ?? "" }

    /// The processes whose command line mentions `fragment`, as "pid: command line".
    func processes(mentioning fragment: String) -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry -> String? in
            guard let pid = Int32(entry), pid != getpid(),
                  let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline"), !data.isEmpty else { return nil }
            let command = String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
            return command.contains(fragment) ? "\(pid): \(command)" : nil
        }
    }

    /// Whether something accepts tcp connections on 127.0.0.1:`port`.
    func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    func testLaunchLocalRunsTheExampleWithTwoPythonWorkersAndATrainerThenStopsEverything() throws {
        guard let python = try fleetPython() else {
            if ProcessInfo.processInfo.environment["ILI_REQUIRE_ALL"] == "1" {
                return XCTFail("no Python with pyzmq and numpy in ILI_FLEET_PYTHON (ops/test sets it), which ILI_REQUIRE_ALL=1 requires")
            }
            throw XCTSkip("no Python with pyzmq and numpy in ILI_FLEET_PYTHON (ops/test sets it; ops/python/run-tests makes one)")
        }
        // The example with the tiny budget of ExamplesCommandTests, in the scratch folder.
        let example = Self.repository.appendingPathComponent("examples/python-fleet")
        let copy = directory.appendingPathComponent("python-fleet")
        try FileManager.default.createDirectory(at: copy, withIntermediateDirectories: true)
        for name in ["simulator.py", "xo.npy"] {
            try FileManager.default.copyItem(at: example.appendingPathComponent(name), to: copy.appendingPathComponent(name))
        }
        var config = try String(contentsOf: example.appendingPathComponent("config.yaml"), encoding: .utf8)
        for (pattern, replacement) in ExamplesCommandTests.tinyBudget.prefix(3) {
            XCTAssertNotNil(config.range(of: pattern, options: .regularExpression), "examples/python-fleet/config.yaml has no `\(pattern)`")
            config = config.replacingOccurrences(of: pattern, with: replacement, options: .regularExpression)
        }
        try config.write(to: copy.appendingPathComponent("config.yaml"), atomically: true, encoding: .utf8)

        let fleet = path("fleet")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        // Task batches of 10: 12 of them, for both workers to have some.
        process.arguments = [Self.repository.appendingPathComponent("ops/fleet/launch-local").path,
                             copy.appendingPathComponent("config.yaml").path, "2", "--", "--batch-size", "10", "--quiet"]
        process.currentDirectoryURL = directory
        var environment = ProcessInfo.processInfo.environment
        environment["ILI_PYTHON_WORKER"] = copy.appendingPathComponent("simulator.py").path
        environment["ILI_FLEET_PYTHON"] = python
        environment["ILI_FLEET_DIR"] = fleet
        environment["ILI_BIN"] = BinaryRunner.productsDirectory.appendingPathComponent("ili").path
        environment["ILI_REGISTRY"] = nil
        process.environment = environment
        _ = FileManager.default.createFile(atPath: path("launch.log"), contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path("launch.log")))
        process.standardOutput = handle
        process.standardError = handle
        let started = Date()
        try process.run()
        launcher = process
        let deadline = started.addingTimeInterval(180)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.2) }
        let logs = { ["launch.log", "fleet/sim-1.log", "fleet/sim-2.log", "fleet/trainer.log"]
            .map { "--- \($0)\n\(self.text($0).suffix(4_000))" }.joined(separator: "\n") }
        guard !process.isRunning else {
            return XCTFail("launch-local still running after 180 s (stopped in tearDown); logs:\n\(logs())")
        }
        print("launch-local with two Python workers: \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
        let output = text("launch.log")
        XCTAssertEqual(process.terminationStatus, 0, logs())

        // The coordinator finished the experiment, and the registry says so (launch-local
        // lists its rounds before it stops the database).
        XCTAssertTrue(output.contains("experiment python-fleet: 1 of 1 rounds done"), logs())
        XCTAssertNotNil(output.range(of: #"launch-local: the registry's rounds of experiment python-fleet:\n.*\n\S+\s+0\s+done\s+prior\s+100\s+0\s+100\s+20\s"#,
                                     options: .regularExpression), output)
        // Both Python workers simulated, and left when the coordinator ended the experiment.
        for k in 1...2 {
            let log = text("fleet/sim-\(k).log")
            let simulated = log.firstMatch(of: /simulated (\d+) simulations in (\d+) batches; the coordinator ended the experiment/)
            XCTAssertGreaterThan(simulated.flatMap { Int($0.1) } ?? 0, 0, "sim-\(k) simulated: \(log)")
        }
        XCTAssertTrue(text("fleet/trainer.log").contains("done after 2 job(s)"), text("fleet/trainer.log"))

        // Nothing is left running: no process of this fleet, no PostgreSQL.
        let pgDirectory = try XCTUnwrap(output.firstMatch(of: #/PostgreSQL in (\S+)\)/#).map { String($0.1) }, output)
        let port = try XCTUnwrap(output.firstMatch(of: #/registry postgresql://[^@\s]+@127\.0\.0\.1:(\d+)//#).flatMap { Int($0.1) }, output)
        XCTAssertTrue(output.contains("PostgreSQL (\(pgDirectory)) stopped and removed"), output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: pgDirectory), "the database's folder is removed")
        XCTAssertEqual(processes(mentioning: fleet), [], "no worker or coordinator outlives launch-local")
        XCTAssertEqual(processes(mentioning: pgDirectory), [], "PostgreSQL is stopped")
        XCTAssertFalse(accepts(port: port), "nothing listens on the database's port \(port)")
    }
}
