import Foundation
import ILITensor

/// Trains the trials of a search by successive halving and keeps the best as an ensemble.
///
/// Every trial trains `rungEpochs` epochs; the best 1/`reduction` of them by validation
/// log-probability (never fewer than `keep`) continue from where they stopped for
/// `reduction` times as many epochs, and so on until `keep` are left, which train until
/// their validation score stops improving. Trials that converge early simply stop. All
/// trials share one split of the data (the one an ensemble of `trials` members would use),
/// so their scores compare like with like; which trials continue depends on those scores
/// alone, so the same seed keeps the same trials at any thread count.
public enum HyperparameterSearch {
    /// What became of one trial.
    public struct TrialRecord: Codable, Sendable, Equatable {
        public var index: Int
        public var choices: [SearchTrial.Choice]
        /// The best validation score after each rung it trained in (the last: its final one).
        public var scores: [Double]
        public var epochs: Int
        public var seconds: Double
        /// Its place in the ensemble (0 = best), or nil when it was not kept.
        public var member: Int?
        /// The rung after which it stopped: nil for trials that trained to the end.
        public var stoppedAfterRung: Int?

        public var finalScore: Double { scores.last ?? -.infinity }
    }

    public struct Result {
        /// Every trial, in trial order.
        public var records: [TrialRecord]
        /// The kept trials, best first, and their softmax weights.
        public var members: [TrainedMember]
        public var weights: [Double]
    }

    public static func run(_ trials: [SearchTrial], space: SearchSpace, estimators: [MemberEstimator], method: InferenceMethod,
                           ratio: RatioEstimationSettings = RatioEstimationSettings(), posteriorLoss: PosteriorLoss = .maximumLikelihood,
                           seed: UInt64, data: SimulationDataset, observer: (any TrainingObserver)? = nil) throws -> Result {
        precondition(!trials.isEmpty && trials.count == estimators.count, "one estimator per trial")
        let n = trials.count
        func job(_ t: Int, epochs: Int?) -> EnsembleMemberJob {
            var training = trials[t].training
            if let epochs { training.maxEpochs = min(epochs, training.maxEpochs ?? .max) }
            return EnsembleMemberJob(method: method, estimator: estimators[t], ratio: ratio, posteriorLoss: posteriorLoss,
                                     training: training, seed: seed, member: t, memberCount: n)
        }
        // Every trial is checked before any trains.
        for t in 0..<n { try job(t, epochs: nil).validate(thetaDimension: data.theta.cols, xDimension: data.x.cols) }

        var latest: [Int: TrainedMember] = [:]
        var records = trials.map { TrialRecord(index: $0.index, choices: $0.choices, scores: [], epochs: 0, seconds: 0) }
        var finished = Set<Int>()   // converged, or at their own epoch limit
        var alive = Array(0..<n)
        var budget = space.rungEpochs
        var rung = 0

        /// Trains `indices` for at most `epochs` more epochs (nil: until they converge), each
        /// continuing its latest network, side by side as an ensemble's members train.
        func trainRung(_ indices: [Int], epochs: Int?) throws {
            guard !indices.isEmpty else { return }
            let trained = try EnsembleTraining.train(indices.map { job($0, epochs: epochs) }, data: data,
                                                     startingFrom: latest.compactMapValues { $0.model }, observer: observer).members
            for (k, t) in indices.enumerated() {
                let member = trained[k]
                records[t].epochs += member.summary.epochs
                records[t].seconds += member.summary.seconds
                if let previous = records[t].scores.last, member.summary.bestValidationScore < previous {
                    // No epoch of this rung beat the network it started from: keep that one.
                    records[t].scores.append(previous)
                    finished.insert(t)
                    continue
                }
                latest[t] = member
                records[t].scores.append(member.summary.bestValidationScore)
                let limit = trials[t].training.maxEpochs
                if epochs == nil || member.summary.stoppedBecause == "converged" || (limit != nil && records[t].epochs >= limit!) {
                    finished.insert(t)
                }
            }
        }
        /// Best first; ties to the earlier trial.
        func ranked(_ indices: [Int]) -> [Int] {
            indices.sorted { records[$0].finalScore != records[$1].finalScore ? records[$0].finalScore > records[$1].finalScore : $0 < $1 }
        }

        while alive.count > space.keep {
            try trainRung(alive.filter { !finished.contains($0) }, epochs: budget)
            let survivors = Array(ranked(alive).prefix(max(space.keep, (alive.count + space.reduction - 1) / space.reduction)))
            for t in alive where !survivors.contains(t) { records[t].stoppedAfterRung = rung }
            alive = survivors
            budget = budget.multipliedReportingOverflow(by: space.reduction).partialValue
            rung += 1
        }
        try trainRung(alive.filter { !finished.contains($0) }, epochs: nil)

        let kept = ranked(alive)
        for (place, t) in kept.enumerated() { records[t].member = place }
        let members = kept.map { latest[$0]! }
        let weights = DensityEnsemble.weights(fromValidationScores: kept.map { records[$0].finalScore })
        return Result(records: records, members: members, weights: weights)
    }
}
