import Foundation
import Yams

/// `inference.search`: which estimators and training settings to try, and how many of the
/// best to keep as the ensemble.
///
/// ```yaml
/// inference:
///   method: npe
///   search:
///     trials: 12            # random draws from the space (or strategy: grid for all of it)
///     keep: 3               # the ensemble: the 3 best by validation log-probability
///     space:
///       model: [maf, nsf]
///       hidden_features: [32, 50, 64]
///       learning_rate: [1e-4, 5e-4, 1e-3]
///       batch_size: [50, 100, 200]
/// ```
public struct SearchSpace {
    public enum Strategy: String, CaseIterable, Sendable {
        /// `trials` distinct points drawn at random (all of them when the space is smaller).
        case random
        /// Every point of the space.
        case grid
    }

    public var strategy: Strategy
    public var trials: Int
    public var keep: Int
    /// Successive halving: every trial first trains this many epochs; the best 1/`reduction`
    /// of them (never fewer than `keep`) go on for `reduction` times as many, and so on, until
    /// `keep` are left, which train until their validation score stops improving.
    public var rungEpochs: Int
    public var reduction: Int
    /// The searched keys in the order written, each with its choices as YAML nodes.
    public var dimensions: [(key: String, values: [ConfigNode])]
    /// Where `space` was written, for the trials' errors.
    public var spaceNode: ConfigNode

    /// Keys of the space that set training, not the estimator.
    public static let trainingKeys: Set<String> = ["learning_rate", "batch_size"]
    static let keys: Set<String> = ["strategy", "trials", "keep", "rung_epochs", "reduction", "space"]

    public static func parse(_ node: ConfigNode) throws -> SearchSpace {
        let m = try node.mapping(allowing: keys)
        let strategy = try m.optional("strategy").map { Strategy(rawValue: try $0.choice(Strategy.allCases.map(\.rawValue)))! } ?? .random
        if strategy == .grid, let n = m.optional("trials") {
            throw n.error(.invalidValue, "a grid search tries every point of the space; leave out 'trials' or use strategy: random")
        }
        let spaceNode = try m.required("space")
        let space = try spaceNode.mapping()
        guard space.entries.contains(where: { $0.key == "model" }) else {
            throw spaceNode.error(.missingKey, "the space needs 'model': the estimator kinds to try, e.g. [maf, nsf]")
        }
        let dimensions = try space.entries.map { key, value -> (key: String, values: [ConfigNode]) in
            let values: [ConfigNode]
            if case .sequence = value.node { values = try value.list() } else { values = [value] }
            guard !values.isEmpty else { throw value.error(.invalidValue, "give at least one value to try") }
            for v in values {
                guard case .scalar = v.node else { throw v.error(.wrongType, "a searched value must be a single value (number, word or true/false)") }
            }
            return (key, values)
        }
        let gridSize = dimensions.reduce(1) { $0.multipliedReportingOverflow(by: $1.values.count).partialValue }
        let trials = strategy == .grid ? gridSize : min(try m.wholeNumber("trials", atLeast: 1) ?? 8, gridSize)
        let keep = try m.wholeNumber("keep", atLeast: 1) ?? 1
        if keep > trials {
            throw try m.required("keep").error(.invalidValue, "keeps \(keep) members but the search has only \(trials) trials")
        }
        return SearchSpace(strategy: strategy, trials: trials, keep: keep,
                           rungEpochs: try m.wholeNumber("rung_epochs", atLeast: 1) ?? 20,
                           reduction: try m.wholeNumber("reduction", atLeast: 2) ?? 3,
                           dimensions: dimensions, spaceNode: spaceNode)
    }

    /// The points to try, in trial order: the whole grid, or `trials` distinct points drawn
    /// with `seed`. Each point gives the chosen value index of every dimension.
    public func points(seed: UInt64) -> [[Int]] {
        let sizes = dimensions.map(\.values.count)
        let total = sizes.reduce(1, *)
        func point(_ flat: Int) -> [Int] {
            var rest = flat
            return sizes.reversed().map { size -> Int in defer { rest /= size }; return rest % size }.reversed()
        }
        if strategy == .grid || trials >= total { return (0..<total).map(point) }
        var rng = RandomSource(seed: seed)
        var chosen: [[Int]] = [], seen = Set<[Int]>()
        while chosen.count < trials {
            let p = sizes.map { Int(rng.next() % UInt64($0)) }
            if seen.insert(p).inserted { chosen.append(p) }
        }
        return chosen
    }

    /// Trial `index` at `point`: the estimator entry (the space's model keys) and the training
    /// settings (`base` with the space's training keys).
    public func trial(_ index: Int, at point: [Int], base: TrainingSettings) throws -> SearchTrial {
        var pairs: [(Node, Node)] = []
        var choices: [SearchTrial.Choice] = []
        var training = base
        for (d, dimension) in dimensions.enumerated() {
            let value = dimension.values[point[d]]
            choices.append(.init(key: dimension.key, value: value.node.scalar?.string ?? ""))
            switch dimension.key {
            case "learning_rate":
                let v = try value.double()
                if !(v > 0 && v < 1) { throw value.error(.invalidValue, "must be in (0, 1), got \(v)") }
                training.learningRate = v
            case "batch_size":
                let v = try value.int()
                if v < 1 { throw value.error(.invalidValue, "must be at least 1, got \(v)") }
                training.batchSize = v
            default:
                pairs.append((Node(dimension.key), value.node))
            }
        }
        let entryNode = ConfigNode(node: .mapping(Node.Mapping(pairs)), source: spaceNode.source, keyPath: spaceNode.keyPath,
                                   text: spaceNode.text)
        let entry = InferenceSpecification.EstimatorEntry(model: try entryNode.mapping().required("model").string(), repeats: 1,
                                                          options: try entryNode.mapping(), keyPath: spaceNode.keyPath)
        return SearchTrial(index: index, choices: choices, entry: entry, training: training)
    }

    /// Every trial, for a search seeded with `seed`.
    public func trials(seed: UInt64, base: TrainingSettings) throws -> [SearchTrial] {
        try points(seed: seed).enumerated().map { try trial($0, at: $1, base: base) }
    }
}

/// One point of a search: its choices as written, the estimator entry they make and the
/// training settings.
public struct SearchTrial {
    public struct Choice: Codable, Sendable, Equatable {
        public var key: String
        public var value: String
    }

    public var index: Int
    public var choices: [Choice]
    public var entry: InferenceSpecification.EstimatorEntry
    public var training: TrainingSettings

    /// `model=maf hidden_features=32 …`, as tables and progress lines show a trial.
    public var description: String { choices.map { "\($0.key)=\($0.value)" }.joined(separator: " ") }
}
