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
                try RegistryTraining.train(claimed, round: round, experiment: experiment, registry: registry, worker: worker,
                                           observer: observer, stop: stop, heartbeatInterval: heartbeatInterval)
                continue
            }
            // Nothing left to claim: done, failed, or held by other trainers, whom we wait for
            // (a job whose trainer died becomes claimable again when its heartbeat goes stale).
            let jobs = try registry.trainingJobs(round: round.id)
            if let failed = jobs.first(where: { $0.status == .failed }) {
                throw RoundFailure("training \(failed.trainedUnit) of round \(round.index) failed: \(failed.failure ?? "no reason given")")
            }
            if jobs.allSatisfy({ $0.status == .done }) { return jobs }
            if stop.requested { throw TrainingCancelled(stop.why ?? "stopped") }
            Thread.sleep(forTimeInterval: 1)
        }
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
