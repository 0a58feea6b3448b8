import Foundation

/// An `ili train` configuration file: prior, data, method and estimators, training settings.
///
/// Paths are relative to the configuration file. Every key is documented in
/// `schemas/config.md`; unknown keys, wrong types and missing files are errors naming them.
public struct RunConfiguration {
    public var prior: PriorSpecification
    public var thetaPath: String
    public var xPath: String
    public var method: InferenceMethod
    public var estimators: [EstimatorEntry]
    public var training: TrainingSettings
    /// NRE's loss and its constants (`inference.variant` and friends); unused by NPE and NLE.
    public var ratio: RatioEstimationSettings
    /// How NLE and NRE posteriors are sampled by default (`inference.sampler`); `ili sample`
    /// flags override it.
    public var sampler: SamplerSettings
    public var seed: UInt64
    /// The posterior directory to write.
    public var outputDirectory: String
    /// The file it was read from, for messages.
    public var source: String

    public enum InferenceMethod: String, Sendable, CaseIterable {
        case npe, nle, nre
    }

    /// One estimator of the ensemble, as written; `repeats` copies train with different seeds.
    public struct EstimatorEntry {
        public var model: String
        public var repeats: Int
        /// The entry's remaining keys, read by the method that builds the estimator.
        public var options: ConfigMapping
        public var keyPath: String
    }

    static let topKeys: Set<String> = ["prior", "data", "inference", "train", "seed", "out"]

    public static func load(path: String) throws -> RunConfiguration {
        let root = try ConfigNode.load(path: path)
        let base = URL(fileURLWithPath: path).deletingLastPathComponent()
        return try parse(root, baseDirectory: base)
    }

    public static func parse(_ root: ConfigNode, baseDirectory: URL) throws -> RunConfiguration {
        let top = try root.mapping(allowing: topKeys)
        func resolve(_ node: ConfigNode, mustExist: Bool) throws -> String {
            let raw = try node.string()
            let path = raw.hasPrefix("/") ? raw : baseDirectory.appendingPathComponent(raw).standardizedFileURL.path
            if mustExist && !FileManager.default.fileExists(atPath: path) {
                throw node.error(.missingFile, "no file '\(raw)' (looked for \(path))")
            }
            return path
        }

        let prior = try PriorSpecification.parse(top.required("prior"))
        _ = try prior.makePrior(source: root.source)

        let data = try top.required("data").mapping(allowing: ["theta", "x"])
        let thetaPath = try resolve(data.required("theta"), mustExist: true)
        let xPath = try resolve(data.required("x"), mustExist: true)

        let inference = try top.required("inference").mapping(allowing: ratioKeys.union(["method", "estimators", "sampler"]))
        let methodNode = try inference.required("method")
        let method = InferenceMethod(rawValue: try methodNode.choice(InferenceMethod.allCases.map(\.rawValue)))!
        let ratio = try parseRatio(inference, method: method)
        let sampler = try parseSampler(inference.optional("sampler"), method: method,
                                       parameterCount: try prior.makePrior(source: root.source).dimension)
        let estimatorNodes = try inference.required("estimators").list()
        guard !estimatorNodes.isEmpty else {
            throw try inference.required("estimators").error(.invalidValue, "give at least one estimator")
        }
        let estimators = try estimatorNodes.map { node -> EstimatorEntry in
            let m = try node.mapping()
            let model = try m.required("model").string()
            let repeats = try m.optional("repeats")?.int() ?? 1
            if repeats < 1 { throw try m.required("repeats").error(.invalidValue, "repeats must be at least 1") }
            return EstimatorEntry(model: model, repeats: repeats, options: m, keyPath: node.keyPath)
        }

        var training = TrainingSettings()
        if let trainNode = top.optional("train") {
            let t = try trainNode.mapping(allowing: ["batch_size", "learning_rate", "validation_fraction",
                                                     "stop_after_epochs", "max_epochs", "clip_max_norm", "parallel_members"])
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
        }

        var seed: UInt64 = 0
        if let s = top.optional("seed") {
            let v = try s.int()
            if v < 0 { throw s.error(.invalidValue, "must be a non-negative whole number") }
            seed = UInt64(v)
        }
        let out = try top.optional("out").map { try resolve($0, mustExist: false) }
            ?? baseDirectory.appendingPathComponent("posterior").path

        return RunConfiguration(prior: prior, thetaPath: thetaPath, xPath: xPath, method: method,
                                estimators: estimators, training: training, ratio: ratio, sampler: sampler, seed: seed,
                                outputDirectory: out, source: root.source)
    }

    static let ratioKeys: Set<String> = ["variant", "num_atoms", "num_classes", "gamma", "balance_strength"]

    /// `variant` (a | b | c | bnre) and its constants, which only NRE takes.
    static func parseRatio(_ inference: ConfigMapping, method: InferenceMethod) throws -> RatioEstimationSettings {
        var ratio = RatioEstimationSettings()
        if method != .nre {
            for key in ratioKeys.sorted() {
                if let n = inference.optional(key) {
                    throw n.error(.invalidValue, "only NRE takes '\(key)'; this run's method is \(method.rawValue)")
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

    /// `sampler: {method, chains, warmup, thin, oversampling}` for NLE and NRE posteriors.
    static func parseSampler(_ node: ConfigNode?, method: InferenceMethod, parameterCount: Int) throws -> SamplerSettings {
        var sampler = SamplerSettings()
        guard let node else { return sampler }
        if method == .npe {
            throw node.error(.invalidValue, "NPE samples its posterior directly; 'sampler' is for nle and nre")
        }
        let m = try node.mapping(allowing: ["method", "chains", "warmup", "thin", "oversampling"])
        if let n = m.optional("method") { sampler.kind = SamplerKind(rawValue: try n.choice(SamplerKind.allCases.map(\.rawValue)))! }
        if let v = try m.wholeNumber("chains", atLeast: 2) { sampler.chains = v }
        if let v = try m.wholeNumber("warmup", atLeast: 0) { sampler.warmup = v }
        if let v = try m.wholeNumber("thin", atLeast: 1) { sampler.thin = v }
        if let v = try m.wholeNumber("oversampling", atLeast: 1) { sampler.sirOversampling = v }
        do {
            try sampler.validate(parameterCount: parameterCount)
        } catch let error as SamplerError {
            let keys = ["kind": "method", "chains": "chains", "warmup": "warmup", "thin": "thin", "sirOversampling": "oversampling"]
            throw (error.field.flatMap { keys[$0] }.flatMap { m.optional($0) } ?? node).error(.invalidValue, error.message)
        }
        return sampler
    }
}
