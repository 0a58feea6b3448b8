import Foundation

/// One run of an external program: bytes in on standard input, bytes out on standard
/// output, the tail of standard error for messages, and a deadline.
struct Subprocess {
    struct Outcome {
        var status: Int32
        var output: Data
        var errorTail: String
        var timedOut: Bool
        var killed: Bool
    }

    /// The command line, run by `/bin/sh -c` (so quoting and environment work as in a shell)
    /// in `directory`, with `environment` added to ili's own.
    var command: String
    var directory: URL
    var environment: [String: String]

    /// Starts the program, feeds it `input`, and waits for it to exit or for `timeout`
    /// seconds to pass (then kills it). `onStart` receives the running process so that a
    /// caller can kill it early. Throws only when the program cannot be started at all.
    func run(input: Data, timeout: Double, onStart: (Process) -> Void = { _ in }) throws -> Outcome {
        _ = Self.ignoringSIGPIPE
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        // `exec` makes the program replace the shell, so that killing it kills the program.
        process.arguments = ["-c", "exec " + command]
        process.currentDirectoryURL = directory
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        onStart(process)

        let group = DispatchGroup()
        let collected = CollectedOutput()
        DispatchQueue.global().async(group: group) {
            // A program that exits without reading its input makes this write fail (EPIPE,
            // with SIGPIPE ignored); its exit status tells the story.
            try? stdin.fileHandleForWriting.write(contentsOf: input)
            try? stdin.fileHandleForWriting.close()
        }
        DispatchQueue.global().async(group: group) {
            collected.setOutput(stdout.fileHandleForReading.readDataToEndOfFile())
        }
        DispatchQueue.global().async(group: group) {
            collected.setError(stderr.fileHandleForReading.readDataToEndOfFile())
        }
        let pid = process.processIdentifier
        let deadline = DispatchWorkItem {
            if collected.markTimedOutUnlessExited() { kill(pid, SIGKILL) }
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: deadline)
        process.waitUntilExit()
        collected.markExited()
        deadline.cancel()
        group.wait()
        let error = collected.error
        let tail = String(decoding: error.suffix(2_000), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return Outcome(status: process.terminationStatus, output: collected.output, errorTail: tail,
                       timedOut: collected.timedOut, killed: process.terminationReason == .uncaughtSignal)
    }
}

extension Subprocess {
    /// A program that exits without reading all its input closes the pipe under our write,
    /// and the default action of the SIGPIPE that follows is to end this whole process (the
    /// `ili` commands ignore it; a test runner or another program using this library did
    /// not): ignore it once, before the first program starts, so the write fails with EPIPE.
    static let ignoringSIGPIPE: Void = { signal(SIGPIPE, SIG_IGN) }()
}

/// What the reader threads collected; the lock guards every field.
private final class CollectedOutput: @unchecked Sendable {
    private let lock = NSLock()
    private var _output = Data(), _error = Data(), _timedOut = false, exited = false

    func setOutput(_ data: Data) { lock.withLock { _output = data } }
    func setError(_ data: Data) { lock.withLock { _error = data } }
    func markExited() { lock.withLock { exited = true } }
    /// Whether the program is still running and so should be killed (its pid is still its own).
    func markTimedOutUnlessExited() -> Bool {
        lock.withLock {
            if exited { return false }
            _timedOut = true
            return true
        }
    }
    var output: Data { lock.withLock { _output } }
    var error: Data { lock.withLock { _error } }
    var timedOut: Bool { lock.withLock { _timedOut } }
}
