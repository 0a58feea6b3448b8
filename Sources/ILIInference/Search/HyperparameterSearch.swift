import Foundation
import ILITensor

/// Trains the trials of a search in this process by successive halving (`SuccessiveHalving`
/// decides which go on) and keeps the best as an ensemble. All trials share one split of
/// the data (the one an ensemble of `trials` members would use), so their scores compare
/// like with like; which trials continue depends on those scores alone, so the same seed
/// keeps the same trials at any thread count.
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

        public init(index: Int, choices: [SearchTrial.Choice], scores: [Double], epochs: Int, seconds: Double,
                    member: Int? = nil, stoppedAfterRung: Int? = nil) {
            self.index = index
            self.choices = choices
            self.scores = scores
            self.epochs = epochs
            self.seconds = seconds
            self.member = member
            self.stoppedAfterRung = stoppedAfterRung
        }
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
        func job(_ t: Int, epochs: Int?) -> EnsembleMemberJob {
            trialJob(t, of: trials, estimators: estimators, method: method, ratio: ratio, posteriorLoss: posteriorLoss, seed: seed, epochs: epochs)
        }
        // Every trial is checked before any trains.
        for t in trials.indices { try job(t, epochs: nil).validate(thetaDimension: data.theta.cols, xDimension: data.x.cols) }

        var halving = halving(for: trials, space: space)
        var latest: [Int: TrainedMember] = [:]
        while let rung = halving.next {
            // The rung's trials side by side, as an ensemble's members train, each continuing
            // its latest network.
            var trained: [Int: TrainedMember] = [:]
            if !rung.trials.isEmpty {
                let members = try EnsembleTraining.train(rung.trials.map { job($0, epochs: halving.epochs(for: $0, in: rung)) }, data: data,
                                                         startingFrom: latest.compactMapValues { $0.model }, observer: observer).members
                trained = Dictionary(uniqueKeysWithValues: zip(rung.trials, members))
            }
            halving.trained(trained.mapValues {
                SuccessiveHalving.Result(score: $0.summary.bestValidationScore, epochs: $0.summary.epochs, seconds: $0.summary.seconds,
                                         converged: $0.summary.stoppedBecause == "converged")
            })
            for (t, member) in trained where halving.networkRung[t] == rung.index { latest[t] = member }
        }
        return Result(records: halving.records, members: halving.kept.map { latest[$0]! }, weights: halving.weights)
    }

    /// Trial `t` trained for at most `epochs` more epochs (nil: until it converges; see
    /// `SuccessiveHalving.epochs(for:in:)`), as member `t` of an ensemble of every trial:
    /// the split and seed all trials share.
    public static func trialJob(_ t: Int, of trials: [SearchTrial], estimators: [MemberEstimator], method: InferenceMethod,
                                ratio: RatioEstimationSettings, posteriorLoss: PosteriorLoss, seed: UInt64, epochs: Int?) -> EnsembleMemberJob {
        var training = trials[t].training
        training.maxEpochs = epochs
        return EnsembleMemberJob(method: method, estimator: estimators[t], ratio: ratio, posteriorLoss: posteriorLoss,
                                 training: training, seed: seed, member: t, memberCount: trials.count)
    }

    /// The seed a random search draws its trials with, from the run's seed: `ili train` and
    /// `ili run` draw the same trials from the same configuration.
    public static func trialSeed(runSeed: UInt64) -> UInt64 { runSeed ^ 0x5345_4152_4348 }

    /// Writes `records` as the directory's `search.json` (`FileTrainer.searchFileName`).
    public static func write(_ records: [TrialRecord], toDirectory directory: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let url = URL(fileURLWithPath: directory).appendingPathComponent(FileTrainer.searchFileName)
        do {
            try encoder.encode(records).write(to: url, options: .atomic)
        } catch {
            throw PosteriorError(.badDirectory, "could not write \(url.path): \(error.localizedDescription)")
        }
    }

    /// The decisions of a search over `trials`, before any trained.
    public static func halving(for trials: [SearchTrial], space: SearchSpace) -> SuccessiveHalving {
        SuccessiveHalving(trials: trials.map { TrialRecord(index: $0.index, choices: $0.choices, scores: [], epochs: 0, seconds: 0) },
                          maxEpochs: trials.map(\.training.maxEpochs), keep: space.keep, rungEpochs: space.rungEpochs,
                          reduction: space.reduction)
    }
}
