import Foundation
import ILIRounds

/// The coordinator at run time: one dedicated thread owns the transport and the state
/// machine for as long as the experiment runs (heartbeats go on while the loop trains and
/// validates), and the experiment loop's thread talks to it through `submit`,
/// `takeDeliveries` and `acknowledge`.
///
/// Group commit: outcomes accumulate while the loop commits the previous group, so under
/// load one transaction carries many messages' rows, and at low load a lone result is
/// committed at once. A worker's rows are acknowledged only after the commit that carried
/// them returned.
public final class FleetCoordinator: @unchecked Sendable {
    let transport: any FleetServerTransport
    let clock: @Sendable () -> Double
    let observer: (any FleetObserver)?
    private var machine: CoordinatorStateMachine
    private var thread: Thread?

    // Shared between the I/O thread and the loop's thread; `condition` guards them.
    private let condition = NSCondition()
    private var commands: [CoordinatorStateMachine.Event] = []
    private var deliveries: [SimulationOutcome] = []
    private var acksDue: [CoordinatorStateMachine.AckDue] = []
    private var jobReports: [JobDone] = []
    private var runGeneration = 0
    private var machineGeneration = 0
    private var outstandingSnapshot = 0
    private var statusSnapshot: FleetStatus
    private var committedTotal = 0
    private var stopping = false
    private var stopped = false
    private var failure: (any Error)?

    public init(transport: any FleetServerTransport, experiment: ExperimentInfo, settings: CoordinatorSettings = CoordinatorSettings(),
                observer: (any FleetObserver)? = nil, clock: @escaping @Sendable () -> Double = FleetClock.monotonic) {
        self.transport = transport
        self.clock = clock
        self.observer = observer
        machine = CoordinatorStateMachine(experiment: experiment, settings: settings)
        statusSnapshot = FleetStatus(workers: [:], inFlightTasks: 0, outstandingTasks: 0, committed: 0, counters: .init())
    }

    public var settings: CoordinatorSettings { machine.settings }
    public var experiment: ExperimentInfo { machine.experiment }

    public func start() {
        let thread = Thread { [self] in serve() }
        thread.name = "ili-coordinator"
        thread.stackSize = 1 << 22
        self.thread = thread
        thread.start()
    }

    /// Tells every worker `reason` (they exit; nil: say nothing, so that they wait for a
    /// restarted coordinator), stops the I/O thread and closes the transport.
    public func shutdown(reason: String?) {
        if let reason { post(.shutdown(reason: reason)) }
        condition.withLock { stopping = true }
        transport.wake()
        condition.withLock { while !stopped && thread != nil { condition.wait() } }
        transport.close()
    }

    // MARK: The loop's side

    public func submit(_ run: SimulationRun) {
        condition.withLock {
            runGeneration += 1
            outstandingSnapshot = Set(run.tasks.map(\.taskId)).count
        }
        post(.submit(run))
    }

    /// Outcomes delivered since the last call and the acknowledgements they owe, waiting
    /// up to `timeout` seconds for the first; throws when the I/O thread failed.
    public func takeDeliveries(timeout: Double) throws -> (outcomes: [SimulationOutcome], acks: [CoordinatorStateMachine.AckDue]) {
        try condition.withLock {
            let deadline = Date().addingTimeInterval(timeout)
            while deliveries.isEmpty && acksDue.isEmpty && failure == nil && !isSettledLocked {
                if !condition.wait(until: deadline) { break }
            }
            if let failure { throw failure }
            defer { deliveries = []; acksDue = [] }
            return (deliveries, acksDue)
        }
    }

    /// The rows `acks` cover are committed: tell their workers.
    public func acknowledge(_ acks: [CoordinatorStateMachine.AckDue], committed count: Int) {
        condition.withLock { committedTotal += count }
        if !acks.isEmpty { post(.committed(acks)) }
    }

    /// Every task of the current run is delivered, and every delivery taken.
    public var runSettled: Bool { condition.withLock { isSettledLocked } }
    private var isSettledLocked: Bool {
        machineGeneration == runGeneration && outstandingSnapshot == 0 && deliveries.isEmpty
    }

    public func finishRun() {
        condition.withLock {
            runGeneration += 1   // what is still on its way belongs to no run
            deliveries = []
            acksDue = []
        }
        post(.finishRun)
    }
    public func stopDispatching() { post(.stopDispatching) }
    public func offerJobs(_ offer: JobOffer?) { post(.offerJobs(offer)) }

    /// Job reports from trainers since the last call, waiting up to `timeout` for one.
    public func takeJobReports(timeout: Double) -> [JobDone] {
        condition.withLock {
            let deadline = Date().addingTimeInterval(timeout)
            while jobReports.isEmpty && failure == nil {
                if !condition.wait(until: deadline) { break }
            }
            defer { jobReports = [] }
            return jobReports
        }
    }

    public func status() -> FleetStatus { condition.withLock { statusSnapshot } }

    private func post(_ event: CoordinatorStateMachine.Event) {
        condition.withLock { commands.append(event) }
        transport.wake()
    }

    // MARK: The I/O thread

    /// Seconds the I/O thread keeps serving after `shutdown`, so that libzmq writes the
    /// shutdown messages out before the process may exit (closing a socket does not wait).
    public var drainSeconds = 0.5

    private func serve() {
        var generation = 0
        var leaveAt: Double?
        do {
            while true {
                let (events, leaving) = condition.withLock { () -> ([CoordinatorStateMachine.Event], Bool) in
                    defer { commands = [] }
                    return (commands, stopping)
                }
                for event in events {
                    switch event {
                    case .submit, .finishRun: generation += 1   // as `submit` and `finishRun` count `runGeneration`
                    default: break
                    }
                    try apply(event, generation: generation)
                }
                if leaving && leaveAt == nil { leaveAt = clock() + drainSeconds }
                if let leaveAt, clock() >= leaveAt { break }
                let wait = max(0, min(machine.nextDeadline() - clock(), 0.25))
                var received = 0
                while received < 256, let (peer, frames) = try transport.receive(timeout: received == 0 ? wait : 0) {
                    received += 1
                    do {
                        try apply(.message(peer, try FleetCodec.decode(frames, limits: machine.settings.limits)), generation: generation)
                    } catch let error as FleetProtocolError {
                        try apply(.malformed(peer, error), generation: generation)
                    }
                }
                try apply(.tick, generation: generation)
            }
        } catch {
            observer?.transportFailed(error)
            condition.withLock { failure = error; condition.broadcast() }
        }
        condition.withLock { stopped = true; condition.broadcast() }
    }

    private func apply(_ event: CoordinatorStateMachine.Event, generation: Int) throws {
        let actions = machine.handle(event, now: clock())
        var delivered: [SimulationOutcome] = []
        var acks: [CoordinatorStateMachine.AckDue] = []
        var reports: [JobDone] = []
        for action in actions {
            switch action {
            case .send(let peer, let message):
                try transport.send(FleetCodec.encode(message), to: peer)
            case .deliver(let outcomes, let due):
                delivered += outcomes
                acks += due
            case .jobReported(let done):
                reports.append(done)
            case .workerJoined(let worker):
                observer?.workerJoined(worker)
            case .workerLeft(let worker, let reason):
                observer?.workerLeft(worker, reason: reason)
            case .rejected(let peer, let error):
                observer?.rejected(peer: peer, worker: machine.connectedWorkers.first { $0.peer == peer }?.name, error: error)
            }
        }
        condition.withLock {
            // Outcomes of a run the loop already finished are never committed (nor acknowledged:
            // a producer sends its pairs again).
            if generation == runGeneration {
                deliveries += delivered
                acksDue += acks
            }
            jobReports += reports
            machineGeneration = generation
            outstandingSnapshot = generation == runGeneration ? machine.outstandingCount : outstandingSnapshot
            if case .tick = event {
                statusSnapshot = FleetStatus(workers: machine.workerCounts, inFlightTasks: machine.inFlightTaskCount,
                                             outstandingTasks: machine.outstandingCount, committed: committedTotal, counters: machine.counters,
                                             simulatorsJoined: machine.simulatorsJoined)
            }
            if !delivered.isEmpty || !acks.isEmpty || !reports.isEmpty || isSettledLocked { condition.broadcast() }
        }
    }
}
