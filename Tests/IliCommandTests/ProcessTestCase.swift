import Foundation
import XCTest

/// A scratch-directory test case that starts `ili` processes in that directory, each
/// writing to its own log there, and SIGKILLs any still running when the test ends.
class ProcessTestCase: ScratchDirectoryTestCase {
    var processes: [Process] = []

    override func tearDownWithError() throws {
        for process in processes where process.isRunning { kill(process.processIdentifier, SIGKILL) }
        try super.tearDownWithError()
    }

    /// Starts `ili` with `arguments`, its output going to `log` in the scratch directory.
    @discardableResult
    func start(_ arguments: [String], log: String, environment: [String: String] = [:]) throws -> Process {
        let process = Process()
        process.executableURL = BinaryRunner.productsDirectory.appendingPathComponent("ili")
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        _ = FileManager.default.createFile(atPath: path(log), contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path(log)))
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        processes.append(process)
        return process
    }

    /// What a process has written to `name` so far (empty when nothing).
    func log(_ name: String) -> String { (try? String(contentsOfFile: path(name), encoding: .utf8)) ?? "" }
}
