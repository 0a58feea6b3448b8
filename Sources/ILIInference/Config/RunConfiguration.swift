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

        let inference = try top.required("inference").mapping(allowing: ["method", "estimators", "variant", "sampler"])
        let methodNode = try inference.required("method")
        let method = InferenceMethod(rawValue: try methodNode.choice(InferenceMethod.allCases.map(\.rawValue)))!
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
            func positiveInt(_ key: String) throws -> Int? {
                guard let n = t.optional(key) else { return nil }
                let v = try n.int()
                if v < 1 { throw n.error(.invalidValue, "must be at least 1, got \(v)") }
                return v
            }
            if let v = try positiveInt("batch_size") { training.batchSize = v }
            if let v = try positiveInt("stop_after_epochs") { training.stopAfterEpochs = v }
            if let v = try positiveInt("max_epochs") { training.maxEpochs = v }
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
                                estimators: estimators, training: training, seed: seed,
                                outputDirectory: out, source: root.source)
    }
}
