import Foundation
@testable import ILIRegistry
import XCTest

/// Runs this test binary again as a separate process that appends to a registry, so that
/// "two processes appending to one round" is tested with two real processes, each with
/// its own connection and its own SQLite file handle.
///
/// The child is not a test of its own: it starts the binary with a filter naming
/// `entryTest`, whose class calls `runIfThisProcessIsOne()` in its set-up; with the
/// child's variables in the environment that call appends, prints what it stored and
/// exits before any test runs. A normal run, without those variables, never sees it.
enum ChildAppender {
    static let urlVariable = "ILI_TEST_CHILD_REGISTRY"
    static let roundVariable = "ILI_TEST_CHILD_ROUND"
    static let reversedVariable = "ILI_TEST_CHILD_REVERSED"
    static let crashFlagVariable = "ILI_TEST_CHILD_CRASH_FLAG"
    static let rendezvousVariable = "ILI_TEST_CHILD_RENDEZVOUS"
    static let nameVariable = "ILI_TEST_CHILD_NAME"
    static let peerVariable = "ILI_TEST_CHILD_PEER"
    static let resultPrefix = "child-inserted="
    /// A cheap test in a class whose set-up hands over to the child (`RegistryPartsTests`).
    static let entryTest = "ILIRegistryTests.RegistryPartsTests/testPlaceholdersArePositionalOnSQLite"

    /// The records every child sends, in batches of 250.
    static var batches: [[SimulationRecord]] {
        let all = records(0..<3_000)
        return stride(from: 0, to: all.count, by: 250).map { Array(all[$0..<min($0 + 250, all.count)]) }
    }

    /// Two children that proceed in lockstep: after each batch, each leaves a file named
    /// after itself and the batch in `directory` and waits for its peer's file for the same
    /// batch, so that every batch of one is sent while the other sends its own.
    struct Rendezvous {
        var directory: String
        var name: String
        var peer: String
    }

    /// Starts a child appending every batch (in reverse order when `reversed`), or, with
    /// `crashFlag`, one 2,500-record batch that stops halfway and waits to be killed.
    static func start(url: String, round: RoundID, reversed: Bool, rendezvous: Rendezvous? = nil,
                      crashFlag: String? = nil) throws -> (Process, Pipe) {
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        guard FileManager.default.isExecutableFile(atPath: executable.path) else {
            throw RegistryError(.io, "no /proc/self/exe: the two-process tests run on Linux")
        }
        let process = Process()
        process.executableURL = executable
        process.arguments = [entryTest]
        var env = ProcessInfo.processInfo.environment
        env[urlVariable] = url
        env[roundVariable] = String(round.rawValue)
        env[reversedVariable] = reversed ? "1" : "0"
        env[crashFlagVariable] = crashFlag
        env[rendezvousVariable] = rendezvous?.directory
        env[nameVariable] = rendezvous?.name
        env[peerVariable] = rendezvous?.peer
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

    /// In a child (the variables set), appends as told, prints the result and exits;
    /// otherwise returns at once.
    static func runIfThisProcessIsOne() {
        let env = ProcessInfo.processInfo.environment
        guard let url = env[urlVariable], let round = env[roundVariable].flatMap(Int64.init).map(RoundID.init(rawValue:)) else { return }
        do {
            try append(url: url, round: round, env: env)
            exit(0)
        } catch {
            print("child appender failed: \(error)")
            exit(1)
        }
    }

    private static func append(url: String, round: RoundID, env: [String: String]) throws {
        let registry = try Registry(url: url)
        defer { registry.close() }
        if let flag = env[crashFlagVariable] {
            // Halfway through one 2,500-record batch (after its first INSERT), say so and
            // wait to be killed.
            registry.faultAfterInsertChunk = { _ in
                _ = FileManager.default.createFile(atPath: flag, contents: Data("halfway".utf8))
                Thread.sleep(forTimeInterval: 60)
            }
            try registry.appendSimulations(round: round, records(0..<2_500), worker: "doomed")
            return
        }
        var batches = batches
        if env[reversedVariable] == "1" { batches.reverse() }
        var inserted = 0
        for (k, batch) in batches.enumerated() {
            inserted += try registry.appendSimulations(round: round, batch, worker: "pid-\(getpid())").inserted
            if let directory = env[rendezvousVariable], let name = env[nameVariable], let peer = env[peerVariable] {
                try meet(in: directory, as: name, peer: peer, after: k)
            }
        }
        print(resultPrefix + String(inserted))
    }

    /// Leaves this child's file for `batch` and waits (two minutes at most) for the peer's.
    private static func meet(in directory: String, as name: String, peer: String, after batch: Int) throws {
        guard FileManager.default.createFile(atPath: "\(directory)/\(name)-\(batch)", contents: Data()) else {
            throw RegistryError(.io, "child \(name): cannot write to \(directory)")
        }
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: "\(directory)/\(peer)-\(batch)") {
            guard Date() < deadline else {
                throw RegistryError(.io, "child \(name): its peer \(peer) never finished batch \(batch)")
            }
            Thread.sleep(forTimeInterval: 0.005)
        }
    }
}
