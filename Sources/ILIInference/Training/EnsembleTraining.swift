import Foundation
import ILITensor

/// Trains the members of one ensemble side by side: at most `RowParallelism.width`
/// members at once, sharing those threads (one member alone splits its rows over all of
/// them), and weights them by the softmax of their best validation scores.
public enum EnsembleTraining {
    /// Runs `jobs` (members of one ensemble, all of them or the ones left to train) on `data`.
    /// `completed` receives each member as soon as it is trained, on its training thread
    /// (to register it while the others go on); an error it throws stops the run. The
    /// weights are the softmax of the given members' scores. A member whose index is in
    /// `startingFrom` continues training that network (see `EnsembleMemberJob.train`).
    public static func train(_ jobs: [EnsembleMemberJob], data: SimulationDataset,
                             startingFrom: [Int: TrainedModel] = [:],
                             observer: (any TrainingObserver)? = nil,
                             completed: (@Sendable (TrainedMember) throws -> Void)? = nil) throws -> (members: [TrainedMember], weights: [Double]) {
        precondition(!jobs.isEmpty, "an ensemble needs at least one member")
        for job in jobs { try job.validate(thetaDimension: data.theta.cols, xDimension: data.x.cols) }
        let first = jobs[0]
        let split = EnsembleSplit(rows: data.count, members: first.memberCount,
                                  validationFraction: first.training.validationFraction, seed: first.seed)
        observer?.trainingStarted(members: jobs.map(\.label), trainingCount: split.training.count,
                                  validationCount: split.validation.count, droppedRows: data.droppedRows)
        let sideBySide = first.training.parallelMembers ? min(jobs.count, RowParallelism.width) : 1
        let threadsPerMember = max(1, RowParallelism.width / sideBySide)
        // Each starting network goes to the one job of its member, so no two threads share one.
        let starts = StartingNetworks(startingFrom)
        let members = try runJobs(jobs.count, threads: sideBySide) { k -> TrainedMember in
            let member = try RowParallelism.withWidth(threadsPerMember) { try jobs[k].train(on: data, startingFrom: starts.networks[jobs[k].member], observer: observer) }
            try completed?(member)
            return member
        }
        return (members, DensityEnsemble.weights(fromValidationScores: members.map(\.summary.bestValidationScore)))
    }

    /// One job per configuration: members 0..<n of an ensemble of `method` with `seed`.
    public static func jobs(method: InferenceMethod, estimators: [MemberEstimator], ratio: RatioEstimationSettings = RatioEstimationSettings(),
                            posteriorLoss: PosteriorLoss = .maximumLikelihood, training: TrainingSettings,
                            seed: UInt64) -> [EnsembleMemberJob] {
        estimators.enumerated().map { k, estimator in
            EnsembleMemberJob(method: method, estimator: estimator, ratio: ratio, posteriorLoss: posteriorLoss,
                              training: training, seed: seed, member: k, memberCount: estimators.count)
        }
    }
}

/// The networks members continue from, handed to the member threads: each thread reads
/// and trains only its own member's network.
private struct StartingNetworks: @unchecked Sendable {
    let networks: [Int: TrainedModel]
    init(_ networks: [Int: TrainedModel]) { self.networks = networks }
}
