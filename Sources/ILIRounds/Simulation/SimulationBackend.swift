import ILIRegistry
import ILITensor

/// One simulation to run: the registry's task id, θ, and the seed of its noise.
public struct SimulationTask: Sendable, Equatable {
    public var taskId: String
    public var theta: [Double]
    /// Simulators that take a seed (built-in ones; exec programs through `ILI_SEED`) draw
    /// their randomness from it, so the same task gives the same x.
    public var seed: UInt64

    public init(taskId: String, theta: [Double], seed: UInt64) {
        self.taskId = taskId
        self.theta = theta
        self.seed = seed
    }
}

/// What became of one task: x, or why there is none.
public struct SimulationOutcome: Sendable, Equatable {
    public var taskId: String
    /// x flattened, when the simulator produced one (it may hold NaN, which the registry
    /// keeps as an invalid simulation).
    public var x: [Float]?
    /// Why the simulator gave no x (a crash, a timeout, output of the wrong shape).
    public var failure: String?
    /// θ, for a pair no task asked for: a producer that draws θ from the prior itself and
    /// streams (θ, x) in. Accepted only while the round draws from the prior, under a task
    /// id the producer makes unique.
    public var theta: [Float]?

    public static func simulated(_ taskId: String, _ x: [Float]) -> SimulationOutcome {
        SimulationOutcome(taskId: taskId, x: x, failure: nil, theta: nil)
    }

    public static func failed(_ taskId: String, _ reason: String) -> SimulationOutcome {
        SimulationOutcome(taskId: taskId, x: nil, failure: reason, theta: nil)
    }

    /// A pair a producer drew and simulated on its own.
    public static func unsolicited(_ taskId: String, theta: [Float], x: [Float]) -> SimulationOutcome {
        SimulationOutcome(taskId: taskId, x: x, failure: nil, theta: theta)
    }
}

/// Where simulations come from: the seam between the experiment loop and whatever runs
/// the simulator (ili's own simulators in-process, a pool of subprocesses, remote workers).
///
/// `run` hands outcomes to `commit` in groups as they complete, one group at a time and
/// on the thread that called `run`; `commit` stores them durably, and a task counts as done
/// only once its group was committed. `run` returns when every task has been committed or
/// `shouldStop()` turned true (outcomes in hand are committed first), and throws when the
/// backend cannot go on, or with `commit`'s error. A task that fails (crash, timeout,
/// wrong shape) is reported as a failed outcome, never thrown.
public protocol SimulationBackend: AnyObject {
    /// What runs the simulations, for progress lines (`two_moons in-process`, `2 × ./sim.py`).
    var description: String { get }
    /// Floats in one x.
    var xCount: Int { get }

    func run(_ tasks: [SimulationTask], commit: ([SimulationOutcome]) throws -> Void, shouldStop: () -> Bool) throws

    /// Called before each `run` with what its tasks are for; backends that serve remote
    /// workers tell them the round, and take producers' unsolicited pairs only when
    /// `context.acceptsUnsolicited`. The default does nothing.
    func prepare(for context: SimulationContext)
}

extension SimulationBackend {
    public func prepare(for context: SimulationContext) {}
}

/// What the tasks of one `run` are for.
public struct SimulationContext: Sendable, Equatable {
    public var experiment: String
    public var round: Int
    public var purpose: SimulationPurpose
    /// Whether outcomes for tasks the round did not ask for (`SimulationOutcome.unsolicited`)
    /// are taken: only while the round draws its training θ from the prior.
    public var acceptsUnsolicited: Bool

    public init(experiment: String, round: Int, purpose: SimulationPurpose, acceptsUnsolicited: Bool) {
        self.experiment = experiment
        self.round = round
        self.purpose = purpose
        self.acceptsUnsolicited = acceptsUnsolicited
    }
}

/// Runs a built-in simulator on the calling thread, in groups of `batchSize` tasks.
public final class InProcessSimulationBackend: SimulationBackend {
    public let simulator: BuiltInSimulator
    public var batchSize: Int

    public init(_ simulator: BuiltInSimulator, batchSize: Int = 500) {
        self.simulator = simulator
        self.batchSize = batchSize
    }

    public var description: String { "\(simulator.name) (in-process)" }
    public var xCount: Int { simulator.simulator.xDimension }

    public func run(_ tasks: [SimulationTask], commit: ([SimulationOutcome]) throws -> Void, shouldStop: () -> Bool) throws {
        let d = simulator.simulator.thetaDimension
        for start in stride(from: 0, to: tasks.count, by: batchSize) {
            if shouldStop() { return }
            let batch = tasks[start..<min(start + batchSize, tasks.count)]
            let theta = Matrix<Double>(rows: batch.count, cols: d, batch.flatMap(\.theta))
            let x = simulator.simulate(theta, seeds: batch.map(\.seed))
            try commit(batch.enumerated().map { i, task in .simulated(task.taskId, x.row(i).map(Float.init)) })
        }
    }
}
