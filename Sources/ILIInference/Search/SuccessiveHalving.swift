/// Successive halving's decisions, apart from any training: which trials train next, for
/// how many epochs, and which are kept, given the scores reported so far. `ili train`
/// feeds it members trained in this process, `ili run` training jobs finished by whichever
/// trainer claimed them; both make the same decisions from the same scores.
///
/// Every trial trains `rungEpochs` epochs; the best 1/`reduction` of them by validation
/// score (never fewer than `keep`) continue from where they stopped for `reduction` times
/// as many epochs, and so on until `keep` are left, which train until their validation
/// score stops improving. A trial that converges, reaches its own epoch limit, or whose
/// rung beat nothing it had before, trains no more (but still competes with its score).
///
/// ```swift
/// var halving = SuccessiveHalving(trials: records, maxEpochs: limits, keep: 1, rungEpochs: 20, reduction: 3)
/// while let rung = halving.next {
///     let results = train(rung.trials, epochs: rung.epochs)   // [trial: Result]
///     halving.trained(results)
/// }
/// let ensemble = halving.kept
/// ```
public struct SuccessiveHalving: Sendable {
    /// The trials to train next, for `epochs` more epochs (nil: until they converge).
    public struct Rung: Sendable, Equatable {
        public var index: Int
        public var trials: [Int]
        public var epochs: Int?
    }

    /// What training one trial for one rung gave.
    public struct Result: Sendable, Equatable {
        public var score: Double
        public var epochs: Int
        public var seconds: Double
        /// It stopped because its validation score stopped improving.
        public var converged: Bool

        public init(score: Double, epochs: Int, seconds: Double, converged: Bool) {
            self.score = score
            self.epochs = epochs
            self.seconds = seconds
            self.converged = converged
        }
    }

    public private(set) var records: [HyperparameterSearch.TrialRecord]
    /// For each trial that trained, the rung whose network it keeps: its latest, unless that
    /// rung improved on nothing.
    public private(set) var networkRung: [Int: Int] = [:]
    let maxEpochs: [Int?]
    let keep: Int
    let reduction: Int
    private var finished = Set<Int>()
    private var alive: [Int]
    private var budget: Int
    private var rung = 0
    private var over = false

    /// `trials` are the records to fill (no scores yet), `maxEpochs` each trial's own limit.
    public init(trials: [HyperparameterSearch.TrialRecord], maxEpochs: [Int?], keep: Int, rungEpochs: Int, reduction: Int) {
        precondition(!trials.isEmpty && trials.count == maxEpochs.count && keep >= 1 && rungEpochs >= 1 && reduction >= 2)
        records = trials
        self.maxEpochs = maxEpochs
        self.keep = keep
        self.reduction = reduction
        alive = Array(trials.indices)
        budget = rungEpochs
    }

    /// The rung to train now, nil once the search is over. Its trials may be none (every
    /// survivor already finished): report an empty result to move on.
    public var next: Rung? {
        guard !over else { return nil }
        return Rung(index: rung, trials: alive.filter { !finished.contains($0) }, epochs: alive.count > keep ? budget : nil)
    }

    /// How many epochs `trial` trains in `rung`: the rung's budget, but never past the
    /// trial's own `max_epochs` counted over all its rungs (nil: until it converges).
    public func epochs(for trial: Int, in rung: Rung) -> Int? {
        let left = maxEpochs[trial].map { Swift.max(1, $0 - records[trial].epochs) }
        switch (rung.epochs, left) {
        case (let budget?, let left?): return Swift.min(budget, left)
        case (let budget?, nil): return budget
        case (nil, let left): return left
        }
    }

    /// Reports the rung `next` named; every one of its trials needs a result.
    public mutating func trained(_ results: [Int: Result]) {
        guard let current = next else { preconditionFailure("the search is over") }
        for t in current.trials {
            guard let result = results[t] else { preconditionFailure("no result for trial \(t) of rung \(current.index)") }
            records[t].epochs += result.epochs
            records[t].seconds += result.seconds
            if let previous = records[t].scores.last, result.score < previous {
                // No epoch of this rung beat the network it started from: it keeps that one.
                records[t].scores.append(previous)
                finished.insert(t)
                continue
            }
            networkRung[t] = current.index
            records[t].scores.append(result.score)
            if current.epochs == nil || result.converged || maxEpochs[t].map({ records[t].epochs >= $0 }) == true {
                finished.insert(t)
            }
        }
        guard current.epochs != nil else {
            over = true
            for (place, t) in kept.enumerated() { records[t].member = place }
            return
        }
        let survivors = Array(ranked(alive).prefix(max(keep, (alive.count + reduction - 1) / reduction)))
        for t in alive where !survivors.contains(t) { records[t].stoppedAfterRung = rung }
        alive = survivors
        budget = budget.multipliedReportingOverflow(by: reduction).partialValue
        rung += 1
    }

    /// The kept trials, best first (once the search is over, the ensemble).
    public var kept: [Int] { ranked(alive) }

    /// The kept trials' softmax weights, in `kept` order.
    public var weights: [Double] { DensityEnsemble.weights(fromValidationScores: kept.map { records[$0].finalScore }) }

    /// Best first; ties to the earlier trial.
    private func ranked(_ indices: [Int]) -> [Int] {
        indices.sorted { records[$0].finalScore != records[$1].finalScore ? records[$0].finalScore > records[$1].finalScore : $0 < $1 }
    }
}
