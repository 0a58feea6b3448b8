import Foundation
import ILIRounds

/// A simulator worker: takes θ batches from the coordinator, simulates them on the thread
/// that called `run`, and sends the results back, while its connection heartbeats and
/// reconnects on its own thread. A batch the simulator fails on is reported failed row by
/// row, never fatal to the worker.
public final class SimulatorWorker: @unchecked Sendable {
    /// Simulates a batch; returns an outcome per task (x, or why not), in any order.
    public typealias Simulate = @Sendable ([SimulationTask], _ xCount: Int) throws -> [SimulationOutcome]

    let simulate: Simulate
    private var connection: WorkerConnection!
    private let condition = NSCondition()
    // Guarded by `condition`.
    private var queue: [TaskBatch] = []
    private var shutdownReason: String?
    private var simulatedCount = 0

    /// `credit` batches may wait here at once (one simulating, the rest queued), so the
    /// simulator never idles while a result travels.
    public init(connect: @escaping @Sendable () throws -> any FleetClientTransport, name: String, credit: Int = 2,
                capabilities: [String: String] = [:], settings: WorkerSettings = WorkerSettings(),
                events: @escaping @Sendable (WorkerEvent) -> Void = { _ in }, simulate: @escaping Simulate) {
        self.simulate = simulate
        connection = WorkerConnection(connect: connect, hello: Hello(worker: name, kind: .simulator, credit: credit, capabilities: capabilities),
                                      settings: settings, events: events, onMessage: { [weak self] in self?.received($0) })
    }

    /// Serves until the coordinator says the experiment is over (returns its reason) or
    /// `shouldStop` turns true (returns nil). Tasks queued but not started are left to the
    /// coordinator, which gives them to other workers when this one is gone.
    public func run(shouldStop: @escaping () -> Bool) -> String? {
        connection.start()
        defer { connection.close() }
        while true {
            let next = condition.withLock { () -> TaskBatch? in
                if queue.isEmpty && shutdownReason == nil { _ = condition.wait(until: Date().addingTimeInterval(0.2)) }
                return queue.isEmpty ? nil : queue.removeFirst()
            }
            if let batch = next {
                connection.send(.result(work(batch)))
            }
            if let reason = condition.withLock({ shutdownReason }) { return reason }
            if shouldStop() { return nil }
        }
    }

    /// Simulations finished so far.
    public var simulated: Int { condition.withLock { simulatedCount } }

    private func received(_ message: FleetMessage) {
        condition.withLock {
            switch message {
            case .task(let batch):
                queue.append(batch)
            case .welcome:
                queue = []   // a new connection: batches of the old one went to other workers
            case .shutdown(let s):
                shutdownReason = s.reason
            default:
                break
            }
            condition.signal()
        }
    }

    func work(_ batch: TaskBatch) -> ResultBatch {
        let d = batch.theta.rowWidth, theta = batch.theta.doubles()
        let tasks = batch.taskIds.enumerated().map { i, id in
            SimulationTask(taskId: id, theta: Array(theta[(i * d)..<((i + 1) * d)]), seed: batch.seeds[i])
        }
        var byTask: [String: SimulationOutcome] = [:]
        do {
            for outcome in try simulate(tasks, batch.xCount) { byTask[outcome.taskId] = outcome }
        } catch {
            connection.events(.batchFailed(batch: batch.batch, reason: "\(error)"))
            for task in tasks { byTask[task.taskId] = .failed(task.taskId, "\(error)") }
        }
        var x = [Float](repeating: .nan, count: tasks.count * batch.xCount)
        var failures: [String?] = []
        for (i, task) in tasks.enumerated() {
            guard let outcome = byTask[task.taskId] else {
                failures.append("the simulator returned nothing for this task")
                continue
            }
            if let values = outcome.x, values.count == batch.xCount {
                x.replaceSubrange((i * batch.xCount)..<((i + 1) * batch.xCount), with: values)
                failures.append(nil)
            } else {
                failures.append(outcome.failure ?? "x of \(outcome.x?.count ?? 0) values; the experiment's has \(batch.xCount)")
            }
        }
        condition.withLock { simulatedCount += tasks.count }
        return ResultBatch(batch: batch.batch, taskIds: batch.taskIds, failures: failures,
                           x: FleetArray(float32: x, shape: [tasks.count, batch.xCount]))
    }
}

extension SimulatorWorker {
    /// Simulates with one of ili's built-in simulators, each row seeded by its task's seed.
    public static func builtIn(_ simulator: BuiltInSimulator) -> Simulate {
        { tasks, xCount in
            guard xCount == simulator.simulator.xDimension else {
                throw SimulationError("\(simulator.name) gives x of \(simulator.simulator.xDimension) values; the coordinator's experiment has \(xCount)")
            }
            let d = simulator.simulator.thetaDimension
            guard tasks.allSatisfy({ $0.theta.count == d }) else {
                throw SimulationError("\(simulator.name) takes θ of \(d) values; the coordinator sent θ of \(tasks.first?.theta.count ?? 0)")
            }
            let x = simulator.simulate(.init(rows: tasks.count, cols: d, tasks.flatMap(\.theta)), seeds: tasks.map(\.seed))
            return tasks.enumerated().map { i, task in .simulated(task.taskId, x.row(i).map(Float.init)) }
        }
    }

    /// Runs a program with `ili run`'s exec contract (θ as .npy on stdin, x as .npy on
    /// stdout), through the same subprocess pool, so its failures are found row by row.
    public static func exec(_ settings: ExecSimulationBackend.Settings) -> Simulate {
        { tasks, xCount in
            let backend = ExecSimulationBackend(settings: settings, xCount: xCount)
            var outcomes: [SimulationOutcome] = []
            try backend.run(tasks, commit: { outcomes += $0 }, shouldStop: { false })
            return outcomes
        }
    }
}
