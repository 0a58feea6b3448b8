import Foundation
@testable import ILIRegistry
import XCTest

/// Runs this test binary again as a separate process that appends to a registry, so that
/// "two processes appending to one round" is tested with two real processes, each with
/// its own connection and its own SQLite file handle.
enum ChildAppender {
    static let urlVariable = "ILI_TEST_CHILD_REGISTRY"
    static let roundVariable = "ILI_TEST_CHILD_ROUND"
    static let reversedVariable = "ILI_TEST_CHILD_REVERSED"
    static let startVariable = "ILI_TEST_CHILD_START_AT"
    static let crashFlagVariable = "ILI_TEST_CHILD_CRASH_FLAG"
    static let resultPrefix = "child-inserted="

    /// The records every child sends, in batches of 250.
    static var batches: [[SimulationRecord]] {
        let all = records(0..<3_000)
        return stride(from: 0, to: all.count, by: 250).map { Array(all[$0..<min($0 + 250, all.count)]) }
    }

    /// Starts a child that begins appending at `startAt` (seconds since 1970), so that
    /// children started one after the other still write at the same time.
    static func start(url: String, round: Int64, reversed: Bool, startAt: Double, crashFlag: String? = nil) throws -> (Process, Pipe) {
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        guard FileManager.default.isExecutableFile(atPath: executable.path) else {
            throw XCTSkip("no /proc/self/exe: the two-process test runs on Linux")
        }
        let process = Process()
        process.executableURL = executable
        process.arguments = ["ILIRegistryTests.RegistryChildProcessTests/testAppendWhenRunAsAChild"]
        var env = ProcessInfo.processInfo.environment
        env[urlVariable] = url
        env[roundVariable] = String(round)
        env[reversedVariable] = reversed ? "1" : "0"
        env[startVariable] = String(startAt)
        env[crashFlagVariable] = crashFlag
        process.environment = env
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        return (process, out)
    }

    /// Waits for a child and returns how many records it inserted.
    static func finish(_ child: (Process, Pipe)) throws -> Int {
        let output = String(decoding: child.1.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        child.0.waitUntilExit()
        guard child.0.terminationStatus == 0,
              let line = output.split(separator: "\n").first(where: { $0.hasPrefix(resultPrefix) }),
              let inserted = Int(line.dropFirst(resultPrefix.count)) else {
            throw RegistryError(.io, "child appender exited \(child.0.terminationStatus):\n\(output)")
        }
        return inserted
    }
}

final class RegistryChildProcessTests: XCTestCase {
    /// Does nothing in a normal run; `ChildAppender` runs it in a child process with the
    /// registry, round and order in the environment.
    func testAppendWhenRunAsAChild() throws {
        let env = ProcessInfo.processInfo.environment
        guard let url = env[ChildAppender.urlVariable], let round = env[ChildAppender.roundVariable].flatMap(Int64.init) else { return }
        let registry = try Registry(url: url)
        defer { registry.close() }
        if let flag = env[ChildAppender.crashFlagVariable] {
            // Halfway through one 2,500-record batch (after its first INSERT), say so and
            // wait to be killed.
            registry.faultAfterInsertChunk = { _ in
                FileManager.default.createFile(atPath: flag, contents: Data("halfway".utf8))
                Thread.sleep(forTimeInterval: 60)
            }
            try registry.appendSimulations(round: round, records(0..<2_500), worker: "doomed")
            return
        }
        var batches = ChildAppender.batches
        if env[ChildAppender.reversedVariable] == "1" { batches.reverse() }
        if let startAt = env[ChildAppender.startVariable].flatMap(Double.init) {
            Thread.sleep(forTimeInterval: max(0, startAt - Date().timeIntervalSince1970))
        }
        var inserted = 0
        for batch in batches {
            inserted += try registry.appendSimulations(round: round, batch, worker: "pid-\(getpid())").inserted
        }
        print(ChildAppender.resultPrefix + String(inserted))
    }
}
