import Foundation
import ILITensor

/// Runs any program as the simulator: it reads a θ batch as a `.npy` array (float64,
/// one row per simulation) on standard input and writes the x batch as a `.npy` array
/// (one row per θ, in order) on standard output. `ILI_SEED` holds a seed for the batch and
/// `ILI_BATCH_SIZE` its row count.
///
/// Up to `workers` programs run at once, each on one batch. A batch whose program crashes,
/// exits non-zero, times out or writes the wrong shape is split in halves and run again,
/// down to single simulations, so that only the θs the program really fails on are
/// recorded as failed, each with the reason; none of it stops the experiment.
public final class ExecSimulationBackend: SimulationBackend {
    public struct Settings: Sendable, Equatable {
        /// The command line, run by `/bin/sh` in `directory`.
        public var command: String
        public var directory: URL
        public var workers: Int
        public var batchSize: Int
        /// Seconds one batch may take before its program is killed.
        public var timeout: Double
        /// x's width as the configuration states it (`x_width`), for a coordinator that does
        /// not run the program itself; otherwise a first probe learns it.
        public var xWidth: Int?

        public init(command: String, directory: URL, workers: Int, batchSize: Int, timeout: Double, xWidth: Int? = nil) {
            self.command = command
            self.directory = directory
            self.workers = workers
            self.batchSize = batchSize
            self.timeout = timeout
            self.xWidth = xWidth
        }
    }

    public let settings: Settings
    public let xCount: Int

    public init(settings: Settings, xCount: Int) {
        self.settings = settings
        self.xCount = xCount
    }

    public var description: String { "\(settings.workers) × `\(settings.command)`" }

    /// Checks that the program exists and simulates at least one of `thetas` (tried one at a
    /// time, so that a program that fails only on some θs is not refused); returns the number
    /// of floats in its x. Errors name the program and say what it did.
    public static func probe(_ settings: Settings, thetas: [[Double]]) throws -> Int {
        try checkProgramExists(settings)
        var failures: [String] = []
        for theta in thetas {
            let batch = Batch(tasks: [SimulationTask(taskId: "probe", theta: theta, seed: 0)])
            switch run(batch, settings: settings, xCount: nil, onStart: { _ in }) {
            case .simulated(let x):
                guard let first = x.first, !first.isEmpty else {
                    throw SimulationError("`\(settings.command)` wrote an empty x for θ \(theta)")
                }
                return first.count
            case .failed(let reason):
                failures.append("θ \(theta): \(reason)")
            }
        }
        throw SimulationError("the simulator `\(settings.command)` failed on each of its first \(thetas.count) θs, before any work: \(failures.joined(separator: "; "))")
    }

    /// The program named first on the command line must be found (on PATH, or as a path
    /// relative to `directory`) before any work is planned around it.
    static func checkProgramExists(_ settings: Settings) throws {
        guard let program = settings.command.split(separator: " ").first.map(String.init), !program.isEmpty else {
            throw SimulationError("simulator.exec is empty: give a command line, e.g. 'python3 simulate.py'")
        }
        let fm = FileManager.default
        if program.contains("/") {
            let path = program.hasPrefix("/") ? program : settings.directory.appendingPathComponent(program).path
            guard fm.isExecutableFile(atPath: path) else {
                throw SimulationError("simulator.exec: `\(program)` is not an executable file (looked for \(path)); check the path, or `chmod +x` it")
            }
            return
        }
        if program.contains("=") { return }   // an environment assignment first: leave it to the shell
        // A word the shell expands or unquotes (`${ILI_PYTHON:-python3} sim.py`, `"my sim"`):
        // only the shell knows the program; the probe that follows reports what it said.
        if program.contains(where: { "$`'\"\\~".contains($0) }) { return }
        let searchPath = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        guard searchPath.split(separator: ":").contains(where: { fm.isExecutableFile(atPath: "\($0)/\(program)") }) else {
            throw SimulationError("simulator.exec: no program `\(program)` on PATH (\(searchPath))")
        }
    }

    // MARK: Running

    public func run(_ tasks: [SimulationTask], commit: ([SimulationOutcome]) throws -> Void, shouldStop: () -> Bool) throws {
        let batches = stride(from: 0, to: tasks.count, by: settings.batchSize).map {
            Batch(tasks: Array(tasks[$0..<min($0 + settings.batchSize, tasks.count)]))
        }
        let work = WorkQueue(batches)
        let (runSettings, xCount) = (settings, xCount)
        var threads: [Thread] = []
        for k in 0..<max(1, min(runSettings.workers, batches.count)) {
            let thread = Thread {
                while let batch = work.take() {
                    let result = Self.run(batch, settings: runSettings, xCount: xCount, onStart: { work.started($0, for: batch.id) })
                    work.finish(batch, result)
                }
            }
            thread.name = "ili-exec-\(k)"
            thread.start()
            threads.append(thread)
        }
        defer { work.waitForWorkers(threads.count) }
        var stopping = false
        while let outcomes = work.next(pollEvery: 0.2) {
            if !outcomes.isEmpty {
                do {
                    try commit(outcomes)
                } catch {
                    work.stop()
                    throw error
                }
            }
            if !stopping && shouldStop() {
                stopping = true
                work.stop()
            }
        }
    }

    struct Batch: Sendable {
        let id = UUID()
        var tasks: [SimulationTask]
    }

    enum BatchResult {
        case simulated([[Float]])
        case failed(String)
    }

    /// Runs one batch; `xCount` nil accepts any width (the probe).
    static func run(_ batch: Batch, settings: Settings, xCount: Int?, onStart: (Process) -> Void) -> BatchResult {
        let d = batch.tasks[0].theta.count
        let theta = Matrix<Double>(rows: batch.tasks.count, cols: d, batch.tasks.flatMap(\.theta))
        let subprocess = Subprocess(command: settings.command, directory: settings.directory,
                                    environment: ["ILI_SEED": String(batch.tasks[0].seed), "ILI_BATCH_SIZE": String(batch.tasks.count)])
        let outcome: Subprocess.Outcome
        do {
            outcome = try subprocess.run(input: Data(NPYFile.encode(theta)), timeout: settings.timeout, onStart: onStart)
        } catch {
            return .failed("could not start `\(settings.command)`: \(error.localizedDescription)")
        }
        let stderrLine = outcome.errorTail.split(separator: "\n").last.map { ": \($0)" } ?? ""
        if outcome.timedOut { return .failed("timed out after \(Self.seconds(settings.timeout)) (killed)") }
        if outcome.killed { return .failed("killed by signal \(outcome.status)\(stderrLine)") }
        if outcome.status != 0 { return .failed("exited with status \(outcome.status)\(stderrLine)") }
        let file: NPYFile
        do {
            file = try NPYFile(decoding: [UInt8](outcome.output), source: "its standard output")
        } catch {
            let shown = outcome.output.isEmpty ? "nothing" : "\(outcome.output.count) bytes that are not a .npy array"
            return .failed("wrote \(shown) on standard output (\(error)); it must write the x batch with e.g. numpy.save(sys.stdout.buffer, x)")
        }
        let m = file.matrix(as: Float.self)
        let rows: Int, cols: Int
        if file.isOneDimensional {
            (rows, cols) = batch.tasks.count == 1 ? (1, m.count) : (m.count, 1)
        } else {
            (rows, cols) = (m.rows, m.cols)
        }
        guard rows == batch.tasks.count else {
            return .failed("wrote \(rows) x rows for \(batch.tasks.count) θ rows; it must write one x per θ, in order")
        }
        if let xCount, cols != xCount {
            return .failed("wrote x rows of \(cols) values; this experiment's x has \(xCount)")
        }
        return .simulated((0..<rows).map { i in Array(m.storage[(i * cols)..<((i + 1) * cols)]) })
    }

    static func seconds(_ t: Double) -> String { t == t.rounded() ? "\(Int(t)) s" : String(format: "%.1f s", t) }
}

/// A simulation setup that cannot work, naming the program or key.
public struct SimulationError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The batches of one `run`: handed to worker threads, split when they fail, and their
/// outcomes handed back to the caller. The lock guards every field.
private final class WorkQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private var pending: [ExecSimulationBackend.Batch]
    private var outstanding: Int
    private var results: [SimulationOutcome] = []
    private var running: [UUID: Process] = [:]
    private var stopped = false
    private var exitedWorkers = 0

    init(_ batches: [ExecSimulationBackend.Batch]) {
        pending = batches
        outstanding = batches.count
    }

    /// The next batch to run, or nil when there is none left (or the run stops).
    func take() -> ExecSimulationBackend.Batch? {
        condition.lock(); defer { condition.unlock() }
        while pending.isEmpty && outstanding > 0 && !stopped { condition.wait() }
        if stopped || pending.isEmpty {
            exitedWorkers += 1
            condition.broadcast()
            return nil
        }
        return pending.removeFirst()
    }

    func started(_ process: Process, for id: UUID) {
        condition.lock(); defer { condition.unlock() }
        running[id] = process
        if stopped { kill(process.processIdentifier, SIGKILL) }
    }

    /// Records a batch's result: outcomes to commit, or (for a failed batch of several) its
    /// halves to run again, so that the θs the program fails on are found one by one.
    func finish(_ batch: ExecSimulationBackend.Batch, _ result: ExecSimulationBackend.BatchResult) {
        condition.lock(); defer { condition.unlock() }
        running[batch.id] = nil
        outstanding -= 1
        if stopped { condition.broadcast(); return }
        switch result {
        case .simulated(let xs):
            results += zip(batch.tasks, xs).map { .simulated($0.taskId, $1) }
        case .failed(let reason) where batch.tasks.count == 1:
            results.append(.failed(batch.tasks[0].taskId, reason))
        case .failed:
            let half = batch.tasks.count / 2
            pending.insert(contentsOf: [ExecSimulationBackend.Batch(tasks: Array(batch.tasks[..<half])),
                                        ExecSimulationBackend.Batch(tasks: Array(batch.tasks[half...]))], at: 0)
            outstanding += 2
        }
        condition.broadcast()
    }

    /// Outcomes gathered since the last call (possibly none, after `pollEvery` seconds), or
    /// nil once every batch is finished (or stopped) and every outcome handed out.
    func next(pollEvery seconds: Double) -> [SimulationOutcome]? {
        condition.lock(); defer { condition.unlock() }
        if results.isEmpty && (outstanding > 0 && !stopped) {
            _ = condition.wait(until: Date().addingTimeInterval(seconds))
        }
        if !results.isEmpty {
            defer { results = [] }
            return results
        }
        if outstanding == 0 || (stopped && running.isEmpty) { return nil }
        return []
    }

    /// Stops handing out batches and kills the programs running now; their tasks stay undone.
    func stop() {
        condition.lock(); defer { condition.unlock() }
        stopped = true
        for process in running.values { kill(process.processIdentifier, SIGKILL) }
        condition.broadcast()
    }

    func waitForWorkers(_ count: Int) {
        condition.lock(); defer { condition.unlock() }
        stopped = true
        condition.broadcast()
        while exitedWorkers < count { condition.wait() }
    }
}
