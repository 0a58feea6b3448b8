import Foundation
import ILINets

/// The `inference` key of a configuration: the method, the ensemble's estimators, NPE's
/// and NRE's losses and the MCMC sampler. Shared by `ili train` and `ili run` configurations.
///
/// ```yaml
/// inference:
///   method: npe
///   loss: balanced            # or maximum_likelihood (the default)
///   balance_strength: 100
///   estimators:
///     - {model: maf, hidden_features: 50, num_transforms: 5}
///     - {model: nsf, num_bins: 10, repeats: 2}
/// ```
public struct InferenceSpecification {
    public var method: InferenceMethod
    public var estimators: [EstimatorEntry]
    /// NRE's loss and its constants (`variant` and friends); unused by NPE and NLE.
    public var ratio: RatioEstimationSettings
    /// NPE's loss (`loss`, `balance_strength`); maximum likelihood for NLE and NRE.
    public var posteriorLoss: PosteriorLossChoice
    /// How NLE and NRE posteriors are sampled (`sampler`).
    public var sampler: SamplerSettings
    /// Where the specification was read, for errors found later (e.g. once x's width is known).
    public var node: ConfigNode
    /// `search`: the estimators and training settings to try instead of fixed `estimators`.
    public var search: SearchSpace?

    /// One estimator of the ensemble, as written; `repeats` copies train with different seeds.
    public struct EstimatorEntry {
        public var model: String
        public var repeats: Int
        /// The entry's remaining keys, read by the method that builds the estimator.
        public var options: ConfigMapping
        public var keyPath: String
    }

    /// How NPE's densities are trained, as a configuration chooses it.
    public enum PosteriorLossChoice: Equatable, Sendable {
        /// `loss: maximum_likelihood` (the default): −log q(θ | x).
        case maximumLikelihood
        /// `loss: balanced` (BNPE) with λ = `balance_strength`.
        case balanced(strength: Double)

        static let names = ["maximum_likelihood", "balanced"]

        /// The members' loss in a run whose θs are drawn from `prior` (the balance's reference).
        public func posteriorLoss(prior: PriorSpecification) -> PosteriorLoss {
            switch self {
            case .maximumLikelihood: return .maximumLikelihood
            case .balanced(let strength): return .balanced(strength: strength, prior: prior)
            }
        }

        public var isBalanced: Bool { self != .maximumLikelihood }
    }

    static let ratioKeys: Set<String> = ["variant", "num_atoms", "num_classes", "gamma", "balance_strength"]
    static let keys: Set<String> = ratioKeys.union(["method", "estimators", "sampler", "search", "loss"])

    /// Reads `node` for a prior of `parameterCount` parameters.
    public static func parse(_ node: ConfigNode, parameterCount: Int) throws -> InferenceSpecification {
        let inference = try node.mapping(allowing: keys)
        let methodNode = try inference.required("method")
        let method = InferenceMethod(rawValue: try methodNode.choice(InferenceMethod.allCases.map(\.rawValue)))!
        let ratio = try parseRatio(inference, method: method)
        let posteriorLoss = try parsePosteriorLoss(inference, method: method)
        let sampler = try parseSampler(inference.optional("sampler"), method: method, parameterCount: parameterCount)
        var search: SearchSpace?
        if let searchNode = inference.optional("search") {
            if let estimatorsNode = inference.optional("estimators") {
                throw estimatorsNode.error(.invalidValue, "give either 'estimators' or 'search' (whose space names the estimators to try), not both")
            }
            search = try SearchSpace.parse(searchNode)
        }
        var estimatorNodes: [ConfigNode] = []
        if search == nil {
            if let given = inference.optional("estimators") {
                estimatorNodes = try given.list()
                guard !estimatorNodes.isEmpty else { throw given.error(.invalidValue, "give at least one estimator") }
            } else {
                let yaml = try ConfigNode.parse(yaml: defaultEstimators(for: method), source: node.source)
                estimatorNodes = try ConfigNode(node: yaml.node, source: node.source,
                                                keyPath: node.keyPath.isEmpty ? "estimators" : "\(node.keyPath).estimators").list()
            }
        }
        let estimators = try estimatorNodes.map { node -> EstimatorEntry in
            let m = try node.mapping()
            let model = try m.required("model").string()
            let repeats = try m.optional("repeats")?.int() ?? 1
            if repeats < 1 { throw try m.required("repeats").error(.invalidValue, "repeats must be at least 1") }
            return EstimatorEntry(model: model, repeats: repeats, options: m, keyPath: node.keyPath)
        }
        let specification = InferenceSpecification(method: method, estimators: estimators, ratio: ratio, posteriorLoss: posteriorLoss,
                                                   sampler: sampler, node: node, search: search)
        if method == .nre && ratio.variant == .b && specification.memberCount > 1 {
            throw try inference.required("estimators").error(.invalidValue, """
                \(specification.memberCount) members with NRE-B: its classifiers learn the ratio only up to a function of x \
                each, so they cannot be mixed; use one estimator (repeats: 1), or variant a, c or bnre for an ensemble
                """)
        }
        return specification
    }

    /// The estimators of a configuration that names none. NPE: two neural spline flows, the
    /// set that passed the calibration gate on every seed of two moons, Gaussian linear and
    /// LtU-ILI's toy at 10,000 simulations with C2ST at or near the best single estimator's
    /// (`Benchmarks/defaults`, docs/benchmarks.md); NLE and NRE: sbi's defaults (a MAF
    /// likelihood, a residual classifier), not yet measured that way.
    public static func defaultEstimators(for method: InferenceMethod) -> String {
        switch method {
        case .npe: return "[{model: nsf, repeats: 2}]"
        case .nle: return "[{model: maf}]"
        case .nre: return "[{model: resnet}]"
        }
    }

    /// How many members the ensemble has (estimators times their repeats; a search's `keep`).
    public var memberCount: Int { search?.keep ?? estimators.reduce(0) { $0 + $1.repeats } }

    /// Every member's estimator, repeats expanded, for θ and x of the given widths. A
    /// search has no fixed members: `searchTrials` gives its trials.
    public func memberEstimators(thetaDimension: Int, xDimension: Int) throws -> [MemberEstimator] {
        if let search {
            throw search.spaceNode.error(.invalidValue, "this command trains fixed estimators, not a search (`ili train` and `ili run` run searches)")
        }
        var members: [MemberEstimator] = []
        for entry in estimators {
            let estimator = try self.estimator(for: entry, thetaDimension: thetaDimension, xDimension: xDimension)
            members += Array(repeating: estimator, count: entry.repeats)
        }
        return members
    }

    /// The search's trials (drawn with `seed`) with each one's estimator, every key checked.
    public func searchTrials(thetaDimension: Int, xDimension: Int, seed: UInt64,
                             training: TrainingSettings) throws -> [(trial: SearchTrial, estimator: MemberEstimator)] {
        guard let search else { return [] }
        return try search.trials(seed: seed, base: training).map { trial in
            (trial, try estimator(for: trial.entry, thetaDimension: thetaDimension, xDimension: xDimension))
        }
    }

    func estimator(for entry: EstimatorEntry, thetaDimension: Int, xDimension: Int) throws -> MemberEstimator {
        switch method {
        case .npe:
            return .density(try DensityEstimatorOptions.configuration(
                for: entry, featureCount: thetaDimension, contextCount: xDimension, featureName: "theta", contextName: "x"))
        case .nle:
            return .density(try DensityEstimatorOptions.configuration(
                for: entry, featureCount: xDimension, contextCount: thetaDimension, featureName: "x", contextName: "theta"))
        case .nre:
            return .classifier(try ClassifierOptions.configuration(for: entry, parameterCount: thetaDimension, dataCount: xDimension))
        }
    }

    /// `variant` (a | b | c | bnre) and its constants, which only NRE takes.
    static func parseRatio(_ inference: ConfigMapping, method: InferenceMethod) throws -> RatioEstimationSettings {
        var ratio = RatioEstimationSettings()
        if method != .nre {
            // NPE's balanced loss takes balance_strength too (`parsePosteriorLoss`).
            for key in ratioKeys.sorted() where !(method == .npe && key == "balance_strength") {
                if let n = inference.optional(key) {
                    let takers = key == "balance_strength" ? "NRE (variant bnre) and NPE (loss balanced) take" : "only NRE takes"
                    throw n.error(.invalidValue, "\(takers) '\(key)'; this run's method is \(method.rawValue)")
                }
            }
            return ratio
        }
        if let n = inference.optional("variant") {
            ratio.variant = .init(rawValue: try n.choice(RatioEstimationSettings.Variant.allCases.map(\.rawValue)))!
        }
        func positive(_ key: String) throws -> Double? {
            guard let n = inference.optional(key) else { return nil }
            let v = try n.double()
            if !(v > 0 && v.isFinite) { throw n.error(.invalidValue, "must be positive, got \(v)") }
            return v
        }
        let applies: [(String, RatioEstimationSettings.Variant)] = [("num_atoms", .b), ("num_classes", .c), ("gamma", .c), ("balance_strength", .bnre)]
        for (key, variant) in applies where ratio.variant != variant {
            if let n = inference.optional(key) {
                throw n.error(.invalidValue, "'\(key)' belongs to NRE variant \(variant.rawValue); this run's variant is \(ratio.variant.rawValue)")
            }
        }
        if let v = try inference.wholeNumber("num_atoms", atLeast: 2) { ratio.atomCount = v }
        if let v = try inference.wholeNumber("num_classes", atLeast: 1) { ratio.classCount = v }
        if let v = try positive("gamma") { ratio.gamma = v }
        if let v = try positive("balance_strength") { ratio.balanceStrength = v }
        return ratio
    }

    /// `loss` (maximum_likelihood | balanced) and the balanced loss's `balance_strength`,
    /// which only NPE takes.
    static func parsePosteriorLoss(_ inference: ConfigMapping, method: InferenceMethod) throws -> PosteriorLossChoice {
        guard let node = inference.optional("loss") else {
            if method == .npe, let n = inference.optional("balance_strength") {
                throw n.error(.invalidValue, "'balance_strength' belongs to the balanced loss; add `loss: balanced` (this run's NPE loss is maximum_likelihood)")
            }
            return .maximumLikelihood
        }
        guard method == .npe else {
            let counterpart = method == .nre ? " (NRE's balanced counterpart is `variant: bnre`)" : ""
            throw node.error(.invalidValue, "only NPE takes 'loss'; this run's method is \(method.rawValue)\(counterpart)")
        }
        switch try node.choice(PosteriorLossChoice.names) {
        case "balanced":
            // BNRE's λ, which the balancing paper uses for both.
            var strength = RatioEstimationSettings().balanceStrength
            if let n = inference.optional("balance_strength") {
                let v = try n.double()
                if !(v > 0 && v.isFinite) { throw n.error(.invalidValue, "must be positive, got \(v)") }
                strength = v
            }
            return .balanced(strength: strength)
        default:
            if let n = inference.optional("balance_strength") {
                throw n.error(.invalidValue, "'balance_strength' belongs to the balanced loss; this run's loss is maximum_likelihood")
            }
            return .maximumLikelihood
        }
    }

    /// `sampler: {method, chains, warmup, thin, oversampling, max_draws_per_chain}` for NLE and NRE posteriors.
    static func parseSampler(_ node: ConfigNode?, method: InferenceMethod, parameterCount: Int) throws -> SamplerSettings {
        var sampler = SamplerSettings()
        guard let node else { return sampler }
        if method == .npe {
            throw node.error(.invalidValue, "NPE samples its posterior directly; 'sampler' is for nle and nre")
        }
        let m = try node.mapping(allowing: ["method", "chains", "warmup", "thin", "oversampling", "max_draws_per_chain"])
        if let n = m.optional("method") { sampler.kind = SamplerKind(rawValue: try n.choice(SamplerKind.allCases.map(\.rawValue)))! }
        let chains = try m.wholeNumber("chains", atLeast: 2)
        if let v = try m.wholeNumber("warmup", atLeast: 0) { sampler.warmup = v }
        if let v = try m.wholeNumber("thin", atLeast: 1) { sampler.thin = v }
        if let v = try m.wholeNumber("oversampling", atLeast: 1) { sampler.sirOversampling = v }
        sampler.request(chains: chains, maxDrawsPerChain: try m.wholeNumber("max_draws_per_chain", atLeast: 0))
        do {
            try sampler.validate(parameterCount: parameterCount)
        } catch let error as SamplerError {
            let keys = ["kind": "method", "chains": "chains", "warmup": "warmup", "thin": "thin", "sirOversampling": "oversampling"]
            throw (error.field.flatMap { keys[$0] }.flatMap { m.optional($0) } ?? node).error(.invalidValue, error.message)
        }
        return sampler
    }
}

extension TrainingSettings {
    static let configKeys: Set<String> = ["batch_size", "learning_rate", "validation_fraction", "stop_after_epochs",
                                          "max_epochs", "clip_max_norm", "parallel_members"]

    /// The `train` key: sbi's defaults for every key left out.
    public static func parse(_ node: ConfigNode?) throws -> TrainingSettings {
        var training = TrainingSettings()
        guard let node else { return training }
        let t = try node.mapping(allowing: configKeys)
        if let v = try t.wholeNumber("batch_size", atLeast: 1) { training.batchSize = v }
        if let v = try t.wholeNumber("stop_after_epochs", atLeast: 1) { training.stopAfterEpochs = v }
        if let v = try t.wholeNumber("max_epochs", atLeast: 1) { training.maxEpochs = v }
        if let n = t.optional("learning_rate") {
            let v = try n.double()
            if !(v > 0 && v < 1) { throw n.error(.invalidValue, "must be in (0, 1), got \(v)") }
            training.learningRate = v
        }
        if let n = t.optional("validation_fraction") {
            let v = try n.double()
            if !(v > 0 && v < 1) { throw n.error(.invalidValue, "must be in (0, 1), got \(v)") }
            training.validationFraction = v
        }
        if let n = t.optional("clip_max_norm") {
            if case .scalar(let s) = n.node, s.string == "null" || s.string == "none" {
                training.clipMaxNorm = nil
            } else {
                let v = try n.double()
                if !(v > 0) { throw n.error(.invalidValue, "must be positive (or none), got \(v)") }
                training.clipMaxNorm = v
            }
        }
        if let n = t.optional("parallel_members") { training.parallelMembers = try n.bool() }
        return training
    }
}

extension ConfigMapping {
    /// `seed`: a whole number ≥ 0, 0 when absent.
    public func seed() throws -> UInt64 {
        guard let s = optional("seed") else { return 0 }
        let v = try s.int()
        if v < 0 { throw s.error(.invalidValue, "must be a non-negative whole number") }
        return UInt64(v)
    }
}
