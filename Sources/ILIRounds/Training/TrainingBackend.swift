import Foundation
import ILIInference
import ILIRegistry
import ILITensor

/// Where a round's training jobs are trained: the seam between the experiment loop and
/// whatever trains (this process, or trainer workers that claim jobs from the registry).
public protocol TrainingBackend: AnyObject {
    /// Returns once every training job of `round` is done (training itself those no one
    /// else holds), with the round's jobs as the registry has them. Throws when a job
    /// failed, or `TrainingCancelled` when `stop` was requested.
    func complete(round: Round, experiment: String, observer: (any RunObserver)?, stop: StopSignal) throws -> [TrainingJob]
}

/// Trains a round's jobs in this process, members side by side on `ILI_THREADS` threads,
/// claiming them from the registry like any trainer and registering each member as soon as
/// it is trained.
public final class InProcessTrainingBackend: TrainingBackend {
    let registry: Registry
    /// The claimer's id in the registry.
    public let worker: String
    /// Whether this process holds the experiment alone, so that jobs other claimers hold
    /// (a crashed predecessor's) can be taken back at once.
    public var holdsExperimentAlone: Bool
    /// Seconds between heartbeats of a job being trained.
    public var heartbeatInterval = 5.0

    public init(registry: Registry, worker: String, holdsExperimentAlone: Bool = true) {
        self.registry = registry
        self.worker = worker
        self.holdsExperimentAlone = holdsExperimentAlone
    }

    public func complete(round: Round, experiment: String, observer: (any RunObserver)?, stop: StopSignal) throws -> [TrainingJob] {
        if holdsExperimentAlone { try registry.releaseTrainingJobs(round: round.id, heldBy: nil) }
        while true {
            var claimed: [TrainingJob] = []
            while let job = try registry.claimTrainingJob(worker: worker, round: round.id) { claimed.append(job) }
            if !claimed.isEmpty {
                try train(claimed, round: round, experiment: experiment, observer: observer, stop: stop)
                continue
            }
            // Nothing left to claim: done, failed, or held by other trainers, whom we wait for
            // (a job whose trainer died becomes claimable again when its heartbeat goes stale).
            let jobs = try registry.trainingJobs(round: round.id)
            if let failed = jobs.first(where: { $0.status == .failed }) {
                throw RoundFailure("training member \(failed.member) of round \(round.index) failed: \(failed.failure ?? "no reason given")")
            }
            if jobs.allSatisfy({ $0.status == .done }) { return jobs }
            if stop.requested { throw TrainingCancelled(stop.why ?? "stopped") }
            Thread.sleep(forTimeInterval: 1)
        }
    }

    /// Trains the jobs this backend claimed, registering each member as it finishes.
    private func train(_ claimed: [TrainingJob], round: Round, experiment: String, observer: (any RunObserver)?,
                       stop: StopSignal) throws {
        let jobs = try claimed.map(RegistryMapping.job)
        let data = try SimulationDataset(try registry.trainingData(experiment: experiment, rounds: 0...round.index),
                                         source: "the training simulations of \(experiment) rounds 0…\(round.index)")
        let ids = Dictionary(uniqueKeysWithValues: zip(jobs.map(\.member), claimed.map(\.id)))
        let jobObserver = JobObserver(inner: observer, registry: registry, worker: worker, jobIds: ids, stop: stop,
                                      heartbeatInterval: heartbeatInterval)
        let (registry, worker, roundId) = (registry, worker, round.id)
        do {
            _ = try EnsembleTraining.train(jobs, data: data, observer: jobObserver) { member in
                try registry.finishTrainingJob(id: ids[member.job.member]!, worker: worker,
                                               registering: try RegistryMapping.modelVersionSpec(member, round: roundId))
            }
        } catch let error as TrainingCancelled {
            // Stopped on request: the unfinished jobs go back to the queue for whoever resumes.
            _ = try? registry.releaseTrainingJobs(round: round.id, heldBy: worker)
            throw error
        } catch let error as RegistryError where error.code == .jobNotHeld || error.code == .unavailable
                                                || error.code == .connectionLost || error.code == .commitOutcomeUnknown {
            throw error
        } catch {
            // The job cannot succeed as configured: record why, for every member still held.
            for job in try registry.trainingJobs(round: round.id) where job.status == .running && job.claimedBy == worker {
                _ = try? registry.failTrainingJob(id: job.id, worker: worker, reason: "\(error)")
            }
            throw RoundFailure("training round \(round.index) failed: \(error)")
        }
    }
}

/// Forwards training events, heartbeats the jobs being trained, and stops training when
/// the run is asked to stop or a job was taken away. The lock guards `lastBeat`.
private final class JobObserver: TrainingObserver, @unchecked Sendable {
    let inner: (any RunObserver)?
    let registry: Registry
    let worker: String
    let jobIds: [Int: Int64]
    let stop: StopSignal
    let heartbeatInterval: Double
    private let lock = NSLock()
    private var lastBeat: [Int: Date] = [:]

    init(inner: (any RunObserver)?, registry: Registry, worker: String, jobIds: [Int: Int64], stop: StopSignal, heartbeatInterval: Double) {
        self.inner = inner
        self.registry = registry
        self.worker = worker
        self.jobIds = jobIds
        self.stop = stop
        self.heartbeatInterval = heartbeatInterval
    }

    func trainingStarted(members: [String], trainingCount: Int, validationCount: Int, droppedRows: Int) {
        inner?.trainingStarted(members: members, trainingCount: trainingCount, validationCount: validationCount, droppedRows: droppedRows)
    }

    func epochFinished(member: Int, label: String, _ report: EpochReport) throws {
        try inner?.epochFinished(member: member, label: label, report)
        if stop.requested { throw TrainingCancelled(stop.why ?? "stopped") }
        let now = Date()
        let due = lock.withLock { () -> Bool in
            if let last = lastBeat[member], now.timeIntervalSince(last) < heartbeatInterval { return false }
            lastBeat[member] = now
            return true
        }
        if due, let id = jobIds[member] { try registry.heartbeatTrainingJob(id: id, worker: worker) }
    }

    func memberFinished(member: Int, label: String, _ summary: TrainingSummary) {
        inner?.memberFinished(member: member, label: label, summary)
    }
}

/// A round that cannot succeed as configured (its simulator fails too often, its training
/// diverges): the round is marked failed with this reason.
public struct RoundFailure: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension SimulationDataset {
    /// The registry's valid pairs, as training reads them.
    public init(_ data: TrainingData, source: String) throws {
        try self.init(theta: Matrix<Float>(rows: data.count, cols: data.thetaDimension, data.theta),
                      x: Matrix<Float>(rows: data.count, cols: data.xShape.reduce(1, *), data.x), source: source)
    }
}
