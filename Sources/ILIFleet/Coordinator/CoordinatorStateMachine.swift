import ILIRounds

/// The coordinator without I/O: events in (messages, ticks of an injected clock, work
/// from the experiment loop), actions out (messages to send, outcomes to commit). Every
/// rule of dispatch lives here, so that credits, deadlines, heartbeats, reassignment and
/// duplicate detection are tested by feeding events, without sockets or sleeping.
///
/// - Credit: a simulator holds at most `min(credit, maxCredit)` task batches; a batch
///   leaves its credit when its result arrives (or it times out, or the worker vanishes).
/// - Deadlines: a batch out longer than `taskTimeout` goes back to the queue, ahead of
///   new work; a task handed out `maxAttempts` times without a result is failed.
/// - Heartbeats: every worker hears from the coordinator at least every
///   `heartbeatInterval`; one silent for `workerTimeout` is forgotten and its batches
///   requeued.
/// - Duplicates: results are matched by task id; a task delivered once is never
///   delivered again (a late result from a worker thought gone is dropped and counted).
/// - Start: no task goes out before `simulatorsBeforeDispatch` simulators have joined.
/// - Bad messages are answered with an error and counted; none stops the machine.
public struct CoordinatorStateMachine: Sendable {
    public enum Event: Sendable {
        case message(PeerID, FleetMessage)
        /// Frames from `peer` that are not a valid message.
        case malformed(PeerID, FleetProtocolError)
        /// Time passed (the clock is the `now` of `handle`).
        case tick
        /// The experiment loop asks for these tasks.
        case submit(SimulationRun)
        /// These outcomes are committed: acknowledge them.
        case committed([AckDue])
        /// The loop's `run` returned: forget what is left of its tasks.
        case finishRun
        /// Stop handing out tasks (SIGINT/SIGTERM): results still come in.
        case stopDispatching
        /// Tell trainers (now and any that join) that a round's jobs are waiting; nil clears.
        case offerJobs(JobOffer?)
        /// Tell every worker the experiment is over and forget them.
        case shutdown(reason: String)
    }

    public enum Action: Sendable, Equatable {
        case send(PeerID, FleetMessage)
        /// Outcomes for the loop to commit; `acks` are sent once they are committed.
        case deliver([SimulationOutcome], acks: [AckDue])
        case jobReported(JobDone)
        case workerJoined(WorkerSummary)
        case workerLeft(WorkerSummary, reason: String)
        case rejected(PeerID, FleetProtocolError)
    }

    /// A worker as status lines and logs show it.
    public struct WorkerSummary: Sendable, Equatable {
        public var peer: PeerID
        public var name: String
        public var kind: FleetWorkerKind
        public var capabilities: [String: String]
    }

    /// What an acknowledgement will say, once the rows it covers are committed.
    public struct AckDue: Sendable, Equatable {
        public var peer: PeerID
        public var ack: Ack
    }

    /// The counters a status line shows.
    public struct Counters: Sendable, Equatable {
        public var rejected: [FleetErrorCode: Int] = [:]
        public var duplicatesDropped = 0
        public var reassignedBatches = 0
        public var failedAfterAttempts = 0
        public var delivered = 0
        public var batchesSent = 0
        public var workersLost = 0
    }

    struct Worker {
        var summary: WorkerSummary
        var credit: Int
        var inFlight: Set<String> = []
        var lastHeard: Double
        var lastSent: Double
    }

    struct Batch {
        var peer: PeerID
        var taskIds: [String]
        var sentAt: Double
    }

    struct Entry {
        var task: SimulationTask
        var batch: String?
        var attempts: Int
    }

    public let settings: CoordinatorSettings
    public let experiment: ExperimentInfo
    public private(set) var counters = Counters()
    private var workers: [PeerID: Worker] = [:]
    /// Simulators in the order they joined, for round-robin dispatch.
    private var simulatorOrder: [PeerID] = []
    private var nextSimulator = 0
    /// The simulators that have said hello since the start; dispatch waits for enough of them.
    private var simulatorsSeen: Set<PeerID> = []
    public var simulatorsJoined: Int { simulatorsSeen.count }
    private var batches: [String: Batch] = [:]
    private var nextBatch = 0
    private var run: SimulationRun?
    private var outstanding: [String: Entry] = [:]
    private var retry: [String] = []
    private var retryHead = 0
    private var pending: [String] = []
    private var pendingHead = 0
    private var deliveredUnsolicited: Set<String> = []
    private var dispatching = true
    private var jobOffer: JobOffer?
    private var lastSweep = -Double.infinity
    /// Why the coordinator shut down, once it has: a worker that says anything afterwards
    /// (one whose hello crossed the shutdown) is told the same, never welcomed.
    private var shutdownReason: String?

    public init(experiment: ExperimentInfo, settings: CoordinatorSettings = CoordinatorSettings()) {
        self.experiment = experiment
        self.settings = settings
    }

    // MARK: What the runtime reads

    /// Tasks of the current run not yet delivered.
    public var outstandingCount: Int { outstanding.count }
    /// Tasks out with workers now.
    public var inFlightTaskCount: Int { batches.values.reduce(0) { $0 + $1.taskIds.count } }
    public var workerCounts: [FleetWorkerKind: Int] {
        workers.values.reduce(into: [:]) { $0[$1.summary.kind, default: 0] += 1 }
    }
    public var trainerCount: Int { workerCounts[.trainer] ?? 0 }
    public var connectedWorkers: [WorkerSummary] { workers.values.map(\.summary) }

    /// When `handle(.tick)` next has something to do.
    public func nextDeadline() -> Double { lastSweep + sweepInterval }
    var sweepInterval: Double { max(0.001, min(settings.heartbeatInterval, settings.workerTimeout, settings.taskTimeout) / 4) }

    // MARK: Events

    public mutating func handle(_ event: Event, now: Double) -> [Action] {
        var actions: [Action] = []
        switch event {
        case .message(let peer, let message):
            receive(message, from: peer, now: now, into: &actions)
        case .malformed(let peer, let error):
            reject(peer, error, now: now, into: &actions)
            // A batch whose result was unreadable goes to another worker now.
            if let batch = error.batch, batches[batch]?.peer == peer { requeue(batch, now: now, into: &actions) }
        case .tick:
            if now - lastSweep >= sweepInterval {
                lastSweep = now
                sweep(now: now, into: &actions)
            }
        case .submit(let newRun):
            finishRun()
            run = newRun
            dispatching = true
            outstanding.reserveCapacity(newRun.tasks.count)
            for task in newRun.tasks where outstanding[task.taskId] == nil {
                outstanding[task.taskId] = Entry(task: task, batch: nil, attempts: 0)
                pending.append(task.taskId)
            }
        case .committed(let acks):
            for due in acks { send(.ack(due.ack), to: due.peer, now: now, into: &actions) }
        case .finishRun:
            finishRun()
        case .stopDispatching:
            dispatching = false
        case .offerJobs(let offer):
            jobOffer = offer
            if let offer {
                for (peer, worker) in workers where worker.summary.kind == .trainer { send(.job(offer), to: peer, now: now, into: &actions) }
            }
        case .shutdown(let reason):
            shutdownReason = reason
            for peer in workers.keys { send(.shutdown(Shutdown(reason: reason)), to: peer, now: now, into: &actions) }
            for batch in batches.keys { requeue(batch, now: now, into: &actions) }
            workers = [:]
            simulatorOrder = []
        }
        dispatch(now: now, into: &actions)
        return actions
    }

    private mutating func finishRun() {
        run = nil
        outstanding = [:]
        retry = []
        retryHead = 0
        pending = []
        pendingHead = 0
        deliveredUnsolicited = []
        for (id, batch) in batches { workers[batch.peer]?.inFlight.remove(id) }
        batches = [:]
    }

    // MARK: Messages

    private mutating func receive(_ message: FleetMessage, from peer: PeerID, now: Double, into actions: inout [Action]) {
        if let shutdownReason {
            if case .error = message { return }
            send(.shutdown(Shutdown(reason: shutdownReason)), to: peer, now: now, into: &actions)
            return
        }
        if case .hello(let hello) = message {
            greet(peer, hello, now: now, into: &actions)
            return
        }
        guard workers[peer] != nil else {
            if case .error = message { return }   // never answer an error with an error
            reject(peer, FleetProtocolError(.unknownWorker, "this coordinator does not know you (it restarted, or you were silent too long): send hello again"),
                   now: now, into: &actions)
            return
        }
        workers[peer]!.lastHeard = now
        switch message {
        case .heartbeat:
            break
        case .result(let result):
            accept(result, from: peer, now: now, into: &actions)
        case .pairs(let pairs):
            accept(pairs, from: peer, now: now, into: &actions)
        case .jobDone(let done):
            actions.append(.jobReported(done))
        case .error:
            break   // a worker's complaint about a message of ours: nothing to answer
        case .hello, .welcome, .task, .ack, .job, .shutdown:
            reject(peer, FleetProtocolError(.unknownType, "workers do not send `\(message.type.rawValue)` messages to the coordinator"),
                   now: now, into: &actions)
        }
    }

    private mutating func greet(_ peer: PeerID, _ hello: Hello, now: Double, into actions: inout [Action]) {
        if workers[peer] != nil { forget(peer, reason: "said hello again", now: now, into: &actions) }
        let credit = hello.kind == .simulator ? max(1, min(hello.credit, settings.maxCredit)) : 0
        let summary = WorkerSummary(peer: peer, name: hello.worker, kind: hello.kind, capabilities: hello.capabilities)
        workers[peer] = Worker(summary: summary, credit: credit, lastHeard: now, lastSent: now)
        if hello.kind == .simulator {
            simulatorOrder.append(peer)
            simulatorsSeen.insert(peer)
        }
        actions.append(.workerJoined(summary))
        send(.welcome(Welcome(experiment: experiment.name, thetaDim: experiment.thetaDim, xShape: experiment.xShape,
                              heartbeatMs: Int(settings.heartbeatInterval * 1000), timeoutMs: Int(settings.workerTimeout * 1000),
                              maxMessageBytes: settings.limits.maxMessageBytes, prior: experiment.prior)),
             to: peer, now: now, into: &actions)
        if hello.kind == .trainer, let offer = jobOffer { send(.job(offer), to: peer, now: now, into: &actions) }
    }

    private mutating func accept(_ result: ResultBatch, from peer: PeerID, now: Double, into actions: inout [Action]) {
        if batches[result.batch]?.peer == peer {
            let batch = batches.removeValue(forKey: result.batch)!
            workers[peer]?.inFlight.remove(result.batch)
            for id in batch.taskIds where outstanding[id]?.batch == result.batch { outstanding[id]?.batch = nil }
            // Tasks of the batch that the result leaves out go back to the queue.
            let answered = Set(result.taskIds)
            for id in batch.taskIds where !answered.contains(id) && outstanding[id] != nil { retry.append(id) }
        }
        let width = result.x.rowWidth
        let anySimulated = result.failures.contains { $0 == nil }
        if anySimulated && (result.x.shape.count != 2 || width != experiment.xCount) {
            reject(peer, FleetProtocolError(.shape, "result \(result.batch): x rows of \(width) values; this experiment's x has \(experiment.xCount)", batch: result.batch),
                   now: now, into: &actions)
            for id in result.taskIds where outstanding[id] != nil && outstanding[id]?.batch == nil { retry.append(id) }
            return
        }
        let values = anySimulated ? result.x.floats() : []
        var outcomes: [SimulationOutcome] = []
        var duplicates = 0
        let worker = workers[peer]?.summary.name ?? peer.description
        for (i, id) in result.taskIds.enumerated() {
            guard outstanding.removeValue(forKey: id) != nil else {
                duplicates += 1
                continue
            }
            if let failure = result.failures[i] {
                outcomes.append(.failed(id, "\(worker): \(failure)"))
            } else {
                outcomes.append(.simulated(id, Array(values[(i * width)..<((i + 1) * width)])))
            }
        }
        counters.duplicatesDropped += duplicates
        deliver(outcomes, ack: AckDue(peer: peer, ack: Ack(batch: result.batch, accepted: outcomes.count, duplicates: duplicates)),
                into: &actions)
    }

    private mutating func accept(_ pairs: PairBatch, from peer: PeerID, now: Double, into actions: inout [Action]) {
        guard let run, run.acceptsUnsolicited else {
            let why = run == nil ? "no round is simulating now" : "round \(run!.round) draws θ from a posterior, not from the prior"
            reject(peer, FleetProtocolError(.notAccepting, "pairs \(pairs.batch) not taken: \(why); keep them and send them again later", batch: pairs.batch),
                   now: now, into: &actions, retryAfter: settings.retryAfter)
            return
        }
        guard pairs.theta.rowWidth == experiment.thetaDim, pairs.x.rowWidth == experiment.xCount else {
            reject(peer, FleetProtocolError(.shape, "pairs \(pairs.batch): θ rows of \(pairs.theta.rowWidth) and x rows of \(pairs.x.rowWidth) values; this experiment has θ \(experiment.thetaDim) and x \(experiment.xCount)", batch: pairs.batch),
                   now: now, into: &actions)
            return
        }
        let theta = pairs.theta.floats(), x = pairs.x.floats()
        let d = experiment.thetaDim, m = experiment.xCount
        if let bad = theta.firstIndex(where: { !$0.isFinite }) {
            reject(peer, FleetProtocolError(.invalidValue, "pairs \(pairs.batch): θ row \(bad / d) (task \(pairs.taskIds[bad / d])) holds \(theta[bad]); θ must be finite (x may hold NaN: it is kept as a failed simulation)", batch: pairs.batch),
                   now: now, into: &actions)
            return
        }
        var outcomes: [SimulationOutcome] = []
        var duplicates = 0
        for (i, id) in pairs.taskIds.enumerated() {
            // A task id the round asked for is the round's own, not a producer's.
            guard outstanding[id] == nil, deliveredUnsolicited.insert(id).inserted else {
                duplicates += 1
                continue
            }
            outcomes.append(.unsolicited(id, theta: Array(theta[(i * d)..<((i + 1) * d)]), x: Array(x[(i * m)..<((i + 1) * m)])))
        }
        counters.duplicatesDropped += duplicates
        deliver(outcomes, ack: AckDue(peer: peer, ack: Ack(batch: pairs.batch, accepted: outcomes.count, duplicates: duplicates)),
                into: &actions)
    }

    private mutating func deliver(_ outcomes: [SimulationOutcome], ack: AckDue?, into actions: inout [Action]) {
        counters.delivered += outcomes.count
        actions.append(.deliver(outcomes, acks: ack.map { [$0] } ?? []))
    }

    private mutating func reject(_ peer: PeerID, _ error: FleetProtocolError, now: Double, into actions: inout [Action],
                                 retryAfter: Double? = nil) {
        counters.rejected[error.code, default: 0] += 1
        actions.append(.rejected(peer, error))
        var reply = FleetError(code: error.code, message: error.message, batch: error.batch)
        reply.retryAfterMs = retryAfter.map { Int($0 * 1000) }
        send(.error(reply), to: peer, now: now, into: &actions)
    }

    // MARK: Time

    private mutating func sweep(now: Double, into actions: inout [Action]) {
        for (peer, worker) in workers where now - worker.lastHeard > settings.workerTimeout {
            counters.workersLost += 1
            forget(peer, reason: "silent for \(Int((now - worker.lastHeard) * 1000)) ms", now: now, into: &actions)
        }
        for (id, batch) in batches where now - batch.sentAt > settings.taskTimeout {
            requeue(id, now: now, into: &actions)
        }
        for (peer, worker) in workers where now - worker.lastSent >= settings.heartbeatInterval {
            send(.heartbeat(Heartbeat()), to: peer, now: now, into: &actions)
        }
    }

    private mutating func forget(_ peer: PeerID, reason: String, now: Double, into actions: inout [Action]) {
        guard let worker = workers.removeValue(forKey: peer) else { return }
        if worker.summary.kind == .simulator { simulatorOrder.removeAll { $0 == peer } }
        for id in worker.inFlight { requeue(id, now: now, into: &actions) }
        actions.append(.workerLeft(worker.summary, reason: reason))
    }

    /// Puts a batch's undelivered tasks back at the front of the queue, failing those
    /// that were handed out `maxAttempts` times.
    private mutating func requeue(_ batchId: String, now: Double, into actions: inout [Action]) {
        guard let batch = batches.removeValue(forKey: batchId) else { return }
        workers[batch.peer]?.inFlight.remove(batchId)
        counters.reassignedBatches += 1
        var failed: [SimulationOutcome] = []
        for id in batch.taskIds {
            guard let entry = outstanding[id], entry.batch == batchId else { continue }
            if entry.attempts >= settings.maxAttempts {
                outstanding[id] = nil
                failed.append(.failed(id, "no result after \(entry.attempts) attempts (each worker it went to vanished or timed out)"))
            } else {
                outstanding[id]?.batch = nil
                retry.append(id)
            }
        }
        if !failed.isEmpty {
            counters.failedAfterAttempts += failed.count
            deliver(failed, ack: nil, into: &actions)
        }
    }

    // MARK: Dispatch

    private mutating func dispatch(now: Double, into actions: inout [Action]) {
        guard dispatching, let run, !simulatorOrder.isEmpty, simulatorsJoined >= settings.simulatorsBeforeDispatch else { return }
        while (retry.count - retryHead) + (pending.count - pendingHead) > 0 {
            guard let peer = nextFreeSimulator() else { return }
            var ids: [String] = []
            var taken = Set<String>()
            while ids.count < settings.batchSize, let id = nextQueued() {
                if let entry = outstanding[id], entry.batch == nil, taken.insert(id).inserted { ids.append(id) }
            }
            if ids.isEmpty { return }
            nextBatch += 1
            let batchId = "b\(nextBatch)"
            var theta: [Double] = []
            theta.reserveCapacity(ids.count * experiment.thetaDim)
            var seeds: [UInt64] = []
            for id in ids {
                outstanding[id]!.batch = batchId
                outstanding[id]!.attempts += 1
                theta += outstanding[id]!.task.theta
                seeds.append(outstanding[id]!.task.seed)
            }
            batches[batchId] = Batch(peer: peer, taskIds: ids, sentAt: now)
            workers[peer]!.inFlight.insert(batchId)
            counters.batchesSent += 1
            send(.task(TaskBatch(batch: batchId, experiment: experiment.name, round: run.round, taskIds: ids, seeds: seeds,
                                 xCount: experiment.xCount, theta: FleetArray(float64: theta, shape: [ids.count, experiment.thetaDim]))),
                 to: peer, now: now, into: &actions)
        }
    }

    private mutating func nextQueued() -> String? {
        if retryHead < retry.count {
            defer {
                retryHead += 1
                if retryHead == retry.count { retry = []; retryHead = 0 }
            }
            return retry[retryHead]
        }
        guard pendingHead < pending.count else { return nil }
        defer { pendingHead += 1 }
        return pending[pendingHead]
    }

    /// The next simulator, round-robin, with credit left.
    private mutating func nextFreeSimulator() -> PeerID? {
        for _ in 0..<simulatorOrder.count {
            nextSimulator = (nextSimulator + 1) % simulatorOrder.count
            let peer = simulatorOrder[nextSimulator]
            if let worker = workers[peer], worker.inFlight.count < worker.credit { return peer }
        }
        return nil
    }

    private mutating func send(_ message: FleetMessage, to peer: PeerID, now: Double, into actions: inout [Action]) {
        workers[peer]?.lastSent = now
        actions.append(.send(peer, message))
    }
}

/// One call of the experiment loop's `run`: its round and tasks.
public struct SimulationRun: Sendable, Equatable {
    public var round: Int
    public var purpose: String
    /// Whether producers' pairs are taken (the round draws θ from the prior).
    public var acceptsUnsolicited: Bool
    public var tasks: [SimulationTask]

    public init(round: Int, purpose: String, acceptsUnsolicited: Bool, tasks: [SimulationTask]) {
        self.round = round
        self.purpose = purpose
        self.acceptsUnsolicited = acceptsUnsolicited
        self.tasks = tasks
    }
}
