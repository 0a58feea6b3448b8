import Foundation
import ILIInference
import ILIRegistry
import ILIRounds

/// A trainer worker: claims training jobs from the registry (those of the round the
/// coordinator offers first, then any), reads the round's training set from the registry,
/// trains the member with the same code `ili run` trains it with in-process, registers the
/// model version with its job in one transaction, and tells the coordinator. A job whose
/// heartbeat went stale (its trainer died) is claimed again by the next trainer that asks.
public final class TrainerWorker: @unchecked Sendable {
    public struct Settings: Sendable, Equatable {
        /// Seconds between registry polls when no job is offered.
        public var pollInterval: Double = 2
        /// A running job whose heartbeat is older than this is taken over.
        public var staleAfter: Double = 120
        /// Seconds between heartbeats of the job being trained.
        public var heartbeatInterval: Double = 5
        public var connection = WorkerSettings()

        public init() {}
    }

    let registry: Registry
    let name: String
    let settings: Settings
    let observer: (any TrainingObserver)?
    let events: @Sendable (WorkerEvent) -> Void
    private var connection: WorkerConnection?
    private let condition = NSCondition()
    // Guarded by `condition`.
    private var offer: JobOffer?
    private var shutdownReason: String?
    private var trainedCount = 0

    /// `connect` nil: work from the registry alone, without a coordinator.
    public init(connect: (@Sendable () throws -> any FleetClientTransport)?, registry: Registry, name: String,
                settings: Settings = Settings(), observer: (any TrainingObserver)? = nil,
                events: @escaping @Sendable (WorkerEvent) -> Void = { _ in }) {
        self.registry = registry
        self.name = name
        self.settings = settings
        self.observer = observer
        self.events = events
        if let connect {
            connection = WorkerConnection(connect: connect, hello: Hello(worker: name, kind: .trainer, credit: 0, capabilities: [:]),
                                          settings: settings.connection, events: events, onMessage: { [weak self] in self?.received($0) })
        }
    }

    /// Jobs this worker finished.
    public var trained: Int { condition.withLock { trainedCount } }

    /// Claims and trains jobs until the coordinator shuts the experiment down (returns its
    /// reason) or `stop` is requested (returns nil). Registry errors that retrying cannot
    /// cure are thrown.
    public func run(stop: StopSignal) throws -> String? {
        connection?.start()
        defer { connection?.close() }
        while true {
            if let reason = condition.withLock({ shutdownReason }) { return reason }
            if stop.requested { return nil }
            let offered = condition.withLock { offer }
            var job: TrainingJob?
            if let offered { job = try registry.claimTrainingJob(worker: name, round: RoundID(rawValue: offered.roundId), staleAfter: settings.staleAfter) }
            if job == nil { job = try registry.claimTrainingJob(worker: name, staleAfter: settings.staleAfter) }
            guard let job else {
                condition.withLock {
                    if offer == offered && shutdownReason == nil { _ = condition.wait(until: Date().addingTimeInterval(settings.pollInterval)) }
                    if offer == offered { offer = nil }   // nothing left to claim in it
                }
                continue
            }
            try train(job, stop: stop)
        }
    }

    private func train(_ job: TrainingJob, stop: StopSignal) throws {
        let round = try registry.round(id: job.round)
        let experiment = try registry.experiment(id: round.experimentId).name
        events(.jobStarted(job: job.id.rawValue, round: round.index, experiment: experiment))
        do {
            try RegistryTraining.train([job], round: round, experiment: experiment, registry: registry, worker: name,
                                       observer: observer, stop: stop, heartbeatInterval: settings.heartbeatInterval)
            let done = try registry.trainingJob(id: job.id)
            condition.withLock { trainedCount += 1 }
            report(JobDone(job: job.id.rawValue, modelVersion: done.modelVersion?.rawValue, reason: nil))
        } catch let error as RoundFailure {
            report(JobDone(job: job.id.rawValue, modelVersion: nil, reason: error.message))
        } catch let error as RegistryError where error.code == .jobNotHeld {
            events(.jobFinished(job: job.id.rawValue, modelVersion: nil, reason: "\(error)"))
        } catch is TrainingCancelled {
            // Stopping: the job's heartbeat goes stale and another trainer takes it.
        }
    }

    private func report(_ done: JobDone) {
        events(.jobFinished(job: done.job, modelVersion: done.modelVersion, reason: done.reason))
        connection?.send(.jobDone(done))
    }

    private func received(_ message: FleetMessage) {
        condition.withLock {
            switch message {
            case .job(let o): offer = o
            case .shutdown(let s): shutdownReason = s.reason
            default: break
            }
            condition.signal()
        }
    }
}
