import Foundation
import ILIInference
import ILIRegistry

/// A round's hyperparameter search (`inference.search`) through the registry's job queue.
///
/// Each rung's trials are training jobs of the round (registry member `rung × trials +
/// trial`, the job's `search` slot naming both), trained by whatever trains the round: this
/// process, or the fleet's trainer workers. Their model versions' validation scores go to
/// `SuccessiveHalving`, which decides which trials go on, each continuing its own network
/// (`continuesFrom`). Queuing a job twice is a no-op and the decisions depend on the stored
/// scores alone, so a run resumed after a crash replays the finished rungs without
/// training them again, and arrives at the same ensemble.
struct RoundSearch {
    let space: SearchSpace
    let trials: [SearchTrial]
    let estimators: [MemberEstimator]
    let method: InferenceMethod
    let ratio: RatioEstimationSettings
    let posteriorLoss: PosteriorLoss
    /// The seed every trial's job shares (its split; each trial's weights follow from it).
    let seed: UInt64

    struct Outcome {
        var records: [HyperparameterSearch.TrialRecord]
        /// The kept trials' model versions, best first, and their softmax weights.
        var members: [ModelVersion]
        var weights: [Double]
    }

    /// The registry member number of `trial`'s job in `rung`.
    func registryMember(trial: Int, rung: Int) -> Int { rung * trials.count + trial }

    /// Queues each rung's jobs, waits for `complete` (the round's training backend) to
    /// report every job of the round done, and feeds the scores to successive halving.
    /// With `replaying`, queues nothing: every job must already be done (a round whose
    /// posterior is registered), and the decisions are made again from their scores.
    func run(round: Round, registry: Registry, observer: (any RunObserver)?, replaying: Bool = false,
             complete: () throws -> [TrainingJob]) throws -> Outcome {
        var halving = HyperparameterSearch.halving(for: trials, space: space)
        var networks: [Int: ModelVersionID] = [:]   // each trial's kept network
        while let rung = halving.next {
            var results: [Int: SuccessiveHalving.Result] = [:]
            var produced: [Int: ModelVersionID] = [:]
            if !rung.trials.isEmpty {
                var expected: [Int: StoredTrainingJob] = [:]
                for t in rung.trials {
                    let job = HyperparameterSearch.trialJob(t, of: trials, estimators: estimators, method: method, ratio: ratio,
                                                            posteriorLoss: posteriorLoss, seed: seed, epochs: halving.epochs(for: t, in: rung))
                    let stored = StoredTrainingJob(job: job, continuesFrom: networks[t],
                                                   search: SearchSlot(trial: t, rung: rung.index, choices: trials[t].choices))
                    expected[t] = stored
                    if !replaying {
                        let queued = try registry.enqueueTrainingJob(round: round.id, member: registryMember(trial: t, rung: rung.index),
                                                                     config: try ArchiveJSON.text(stored))
                        try check(queued, against: stored, trial: t, rung: rung.index, round: round)
                    }
                }
                if !replaying {
                    observer?.note("round \(round.index): search rung \(rung.index): \(rung.trials.count) of \(trials.count) trials, "
                                   + (rung.epochs.map { "\($0) more epochs" } ?? "until their validation score stops improving"))
                }
                let jobs = Dictionary(try complete().map { ($0.member, $0) }, uniquingKeysWith: { first, _ in first })
                for t in rung.trials {
                    let member = registryMember(trial: t, rung: rung.index)
                    guard let job = jobs[member], let version = job.modelVersion else {
                        throw RoundFailure("round \(round.index): search trial \(t), rung \(rung.index) (job member \(member)) has no finished model version")
                    }
                    if replaying { try check(job, against: expected[t]!, trial: t, rung: rung.index, round: round) }
                    let summary = try RegistryMapping.record(of: try registry.modelVersion(id: version)).summary
                    results[t] = SuccessiveHalving.Result(score: summary.bestValidationScore, epochs: summary.epochs,
                                                          seconds: summary.seconds, converged: summary.stoppedBecause == "converged")
                    produced[t] = version
                }
            }
            halving.trained(results)
            for (t, version) in produced where halving.networkRung[t] == rung.index { networks[t] = version }
        }
        let members = try halving.kept.map { t -> ModelVersion in
            guard let version = networks[t] else { throw RoundFailure("round \(round.index): kept search trial \(t) has no network") }
            return try registry.modelVersion(id: version)
        }
        return Outcome(records: halving.records, members: members, weights: halving.weights)
    }

    /// A job already in the registry for this trial and rung must be the one this search
    /// would queue: otherwise the configuration (or how ili draws trials) changed since it
    /// was queued, and its score would answer another question.
    func check(_ job: TrainingJob, against stored: StoredTrainingJob, trial: Int, rung: Int, round: Round) throws {
        guard try RegistryMapping.storedJob(job) == stored else {
            throw RoundFailure("""
                round \(round.index): search trial \(trial), rung \(rung) is already in the registry (job \(job.id)) with another \
                configuration than this run would queue; the search space, training settings or ili changed since it was queued
                """)
        }
    }
}
