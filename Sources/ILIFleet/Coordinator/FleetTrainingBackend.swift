import Foundation
import ILIInference
import ILIRegistry
import ILIRounds

/// A round's training, by trainer workers when any is connected: the coordinator tells
/// them the round's jobs are waiting, they claim them from the registry, and this waits
/// until the registry says every job is done. With no trainer connected (or when the last
/// one leaves and jobs are still unclaimed) the jobs are trained in this process, exactly
/// as `ili run` alone trains them.
public final class FleetTrainingBackend: TrainingBackend {
    let coordinator: FleetCoordinator
    let registry: Registry
    let local: InProcessTrainingBackend
    /// Seconds without any trainer (at the start of a round's training, or after the last
    /// one left) before the jobs are trained here.
    public var aloneAfter: Double = 3

    public init(coordinator: FleetCoordinator, registry: Registry, worker: String) {
        self.coordinator = coordinator
        self.registry = registry
        // Trainer workers may hold jobs: never take them back before their heartbeats stop.
        local = InProcessTrainingBackend(registry: registry, worker: worker, holdsExperimentAlone: false)
    }

    public func complete(round: Round, experiment: String, observer: (any RunObserver)?, stop: StopSignal) throws -> [TrainingJob] {
        var jobs = try registry.trainingJobs(round: round.id)
        // Trainers started with the fleet may still be saying hello: give them a moment.
        let grace = Date().addingTimeInterval(aloneAfter)
        while (coordinator.status().workers[.trainer] ?? 0) == 0 && Date() < grace && !stop.requested {
            Thread.sleep(forTimeInterval: 0.1)
        }
        guard (coordinator.status().workers[.trainer] ?? 0) > 0 else {
            return try local.complete(round: round, experiment: experiment, observer: observer, stop: stop)
        }
        coordinator.offerJobs(JobOffer(experiment: experiment, round: round.index, roundId: round.id.rawValue,
                                       jobs: jobs.filter { $0.status != .done }.map(\.id.rawValue)))
        defer { coordinator.offerJobs(nil) }
        observer?.note("round \(round.index): \(jobs.count) training job(s) offered to the fleet's trainers")
        var aloneSince: Date?
        while true {
            jobs = try registry.trainingJobs(round: round.id)
            if let failed = jobs.first(where: { $0.status == .failed }) {
                throw RoundFailure("training \(failed.trainedUnit) of round \(round.index) failed on \(failed.claimedBy ?? "a trainer"): \(failed.failure ?? "no reason given")")
            }
            if jobs.allSatisfy({ $0.status == .done }) { return jobs }
            if stop.requested { throw TrainingCancelled(stop.why ?? "stopped") }
            if (coordinator.status().workers[.trainer] ?? 0) == 0 {
                let since = aloneSince ?? Date()
                aloneSince = since
                if Date().timeIntervalSince(since) >= aloneAfter {
                    observer?.note("round \(round.index): no trainer is connected any more; training the remaining jobs here")
                    return try local.complete(round: round, experiment: experiment, observer: observer, stop: stop)
                }
            } else {
                aloneSince = nil
            }
            _ = coordinator.takeJobReports(timeout: 0.5)
        }
    }
}
