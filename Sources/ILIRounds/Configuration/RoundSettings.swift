import ILIInference

/// How an experiment's rounds choose their θs (`rounds`).
public struct RoundSettings: Sendable, Equatable {
    public enum Strategy: String, Sendable, CaseIterable {
        /// Every round draws θ from the prior; the posterior serves any observation.
        case amortized
        /// Each round after the first draws θ where the current posterior at the observation
        /// puts its mass.
        case sequential
        /// As sequential, keeping the candidates the ensemble's members disagree on most.
        case active
    }

    /// How sequential NPE uses its later rounds' θs.
    public enum SequentialPosteriorLoss: String, Sendable, CaseIterable {
        /// θ from the prior truncated to the posterior's highest-density region at the
        /// observation; the plain NPE loss on every round's data.
        case truncated
        /// θ from the posterior at the observation; the atomic (APT) loss corrects for it.
        case atomic
    }

    public var strategy: Strategy = .amortized
    public var count = 1
    public var simulationsPerRound = 1_000
    /// Sequential NPE only.
    public var posteriorLoss: SequentialPosteriorLoss = .truncated
    /// The atomic loss's atoms per x.
    public var atoms = 10
    /// Truncation keeps θ whose posterior density is above this quantile of the density of
    /// posterior draws (the highest-density region of mass 1 − quantile).
    public var truncationQuantile = 1e-4
    /// Active rounds: candidates drawn per simulation kept.
    public var candidatesPerSimulation = 10
    /// Whether each round after the first trains every member on from the previous round's
    /// network of the same member (`continue_training`), as sbi's sequential methods do,
    /// rather than from fresh weights. Unset: on for sequential and active rounds, whose
    /// later rounds refine what the earlier ones learned; off for amortized ones.
    public var continueTraining: Bool?

    /// `continueTraining` as set, or the strategy's default.
    public var continuesTraining: Bool { continueTraining ?? (strategy != .amortized) }

    public init() {}

    static let keys: Set<String> = ["strategy", "count", "simulations_per_round", "proposal", "num_atoms",
                                    "truncation_quantile", "candidates", "continue_training"]

    public static func parse(_ node: ConfigNode?, method: InferenceMethod, memberCount: Int) throws -> RoundSettings {
        var r = RoundSettings()
        guard let node else { return r }
        let m = try node.mapping(allowing: keys)
        if let n = m.optional("strategy") { r.strategy = Strategy(rawValue: try n.choice(Strategy.allCases.map(\.rawValue)))! }
        if let v = try m.wholeNumber("count", atLeast: 1) { r.count = v }
        if let v = try m.wholeNumber("simulations_per_round", atLeast: 2) { r.simulationsPerRound = v }
        func onlyFor(_ key: String, _ allowed: Bool, _ why: String) throws {
            if let n = m.optional(key), !allowed { throw n.error(.invalidValue, why) }
        }
        try onlyFor("proposal", method == .npe && r.strategy == .sequential,
                    "only sequential NPE chooses its proposal (truncated or atomic); NLE and NRE sample the posterior, active NPE uses the atomic loss")
        if let n = m.optional("proposal") {
            r.posteriorLoss = SequentialPosteriorLoss(rawValue: try n.choice(SequentialPosteriorLoss.allCases.map(\.rawValue)))!
        }
        if r.strategy == .active && method == .npe { r.posteriorLoss = .atomic }
        let usesAtoms = method == .npe && r.strategy != .amortized && r.posteriorLoss == .atomic
        try onlyFor("num_atoms", usesAtoms, "only NPE with the atomic loss (proposal: atomic, or active rounds) takes num_atoms")
        if let v = try m.wholeNumber("num_atoms", atLeast: 2) { r.atoms = v }
        let truncates = method == .npe && r.strategy == .sequential && r.posteriorLoss == .truncated
        try onlyFor("truncation_quantile", truncates, "only truncated sequential NPE takes truncation_quantile")
        if let n = m.optional("truncation_quantile") {
            let v = try n.double()
            if !(v > 0 && v < 0.5) { throw n.error(.invalidValue, "must be in (0, 0.5), e.g. 1e-4, got \(v)") }
            r.truncationQuantile = v
        }
        try onlyFor("candidates", r.strategy == .active, "only active rounds take candidates")
        if let v = try m.wholeNumber("candidates", atLeast: 2) { r.candidatesPerSimulation = v }
        if let n = m.optional("continue_training") { r.continueTraining = try n.bool() }
        if r.strategy == .active && memberCount < 2 {
            throw try m.required("strategy").error(.invalidValue, "active rounds pick θ where the ensemble's members disagree, so inference.estimators must make at least 2 members (use repeats: 2 or more)")
        }
        return r
    }
}

/// The held-out test set each round simulates from its proposal, and how it is judged.
public struct RoundValidationSettings: Sendable, Equatable {
    /// Test simulations per round; 0 skips validation (and no posterior is ever calibrated).
    public var simulations = 200
    /// Posterior samples per test point.
    public var samples = 1_000

    public init() {}

    /// Fewer test points make the coverage and TARP checks meaningless.
    public static let minimumSimulations = 20

    public static func parse(_ node: ConfigNode?) throws -> RoundValidationSettings {
        var v = RoundValidationSettings()
        guard let node else { return v }
        let m = try node.mapping(allowing: ["simulations", "samples"])
        if let n = try m.wholeNumber("simulations", atLeast: 0) {
            if n > 0 && n < minimumSimulations {
                throw try m.required("simulations").error(.invalidValue, "at least \(minimumSimulations) test simulations are needed to judge calibration (200 is usual), or 0 to skip validation")
            }
            v.simulations = n
        }
        if let n = try m.wholeNumber("samples", atLeast: 10) { v.samples = n }
        return v
    }
}
