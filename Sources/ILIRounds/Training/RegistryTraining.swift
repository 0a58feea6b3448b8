import Foundation
import ILIInference
import ILIRegistry

/// Training jobs claimed from the registry, trained and registered: the loop that the
/// in-process trainer of `ili run` and the fleet's trainer workers (`ili train-worker`)
/// share, so that member k comes out the same bits wherever it is trained.
public enum RegistryTraining {
    /// Trains `claimed` (jobs of `round`, held by `worker`) on every training simulation of
    /// rounds 0…`round.index`, side by side, heartbeating each job while it trains, and
    /// registers each member with its job in one transaction as soon as it is trained.
    ///
    /// Throws `TrainingCancelled` when `stop` is requested (the unfinished jobs released), the registry's `jobNotHeld` when
    /// a job was taken away (its heartbeat went stale and another worker claimed it), and
    /// transient registry errors as they are; any other error cannot be cured by retrying,
    /// so the jobs still held are marked failed with it and a `RoundFailure` is thrown.
    public static func train(_ claimed: [TrainingJob], round: Round, experiment: String, registry: Registry, worker: String,
                             observer: (any TrainingObserver)?, stop: StopSignal, heartbeatInterval: Double) throws {
        guard !claimed.isEmpty else { return }
        let stored = try claimed.map(RegistryMapping.storedJob)
        let jobs = stored.map(\.job)
        let data = try SimulationDataset(try registry.trainingData(experiment: experiment, rounds: 0...round.index),
                                         source: "the training simulations of \(experiment) rounds 0…\(round.index)")
        // Members that continue a previous round's network start from its stored weights.
        var starts: [Int: TrainedModel] = [:]
        for job in stored {
            guard let version = job.continuesFrom else { continue }
            starts[job.job.member] = try TrainedModel.decoding(try registry.modelWeights(id: version), source: "model version \(version)")
        }
        let ids = Dictionary(uniqueKeysWithValues: zip(jobs.map(\.member), claimed.map(\.id)))
        let jobObserver = JobObserver(inner: observer, registry: registry, worker: worker, jobIds: ids, stop: stop,
                                      heartbeatInterval: heartbeatInterval)
        let roundId = round.id
        do {
            _ = try EnsembleTraining.train(jobs, data: data, startingFrom: starts, observer: jobObserver) { member in
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
    let inner: (any TrainingObserver)?
    let registry: Registry
    let worker: String
    let jobIds: [Int: TrainingJobID]
    let stop: StopSignal
    let heartbeatInterval: Double
    private let lock = NSLock()
    private var lastBeat: [Int: Date] = [:]

    init(inner: (any TrainingObserver)?, registry: Registry, worker: String, jobIds: [Int: TrainingJobID], stop: StopSignal, heartbeatInterval: Double) {
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

