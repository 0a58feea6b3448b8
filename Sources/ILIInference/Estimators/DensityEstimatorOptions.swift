import ILINets

/// Reads the density-estimator entries of a run configuration into network configurations.
///
/// ```yaml
/// estimators:
///   - {model: maf, hidden_features: 50, num_transforms: 5}
///   - {model: nsf, num_bins: 10, repeats: 2}
/// ```
public enum DensityEstimatorOptions {
    public static let models = ["maf", "nsf", "mdn", "made"]
    static let keys: Set<String> = [
        "model", "repeats", "hidden_features", "num_transforms", "num_blocks", "num_bins", "tail_bound",
        "num_components", "activation", "permutation", "coupling", "z_score_theta", "z_score_x",
        "z_score_features", "z_score_context", "structured_x", "embedding",
    ]

    /// The configuration of the density q(features | context) an entry describes.
    ///
    /// - Parameters:
    ///   - featureCount: the modelled variable's width (θ for NPE, x for NLE).
    ///   - contextCount: the conditioning variable's width.
    ///   - contextName: what the context is called in the file's keys (`x` or `theta`), for z-scoring.
    public static func configuration(for entry: InferenceSpecification.EstimatorEntry, featureCount: Int, contextCount: Int,
                                     featureName: String, contextName: String) throws -> DensityEstimatorConfiguration {
        let m = entry.options
        // The z-scoring and structure keys are named after the variables' roles; NLE (whose
        // context is θ) takes no embedding, which compresses x.
        var allowed = keys.subtracting(["z_score_theta", "z_score_x", "structured_x", "embedding"])
        allowed.formUnion(["z_score_\(featureName)", "z_score_\(contextName)", "structured_\(contextName)"])
        if contextName == "x" { allowed.insert("embedding") }
        for (key, node) in m.entries where !allowed.contains(key) {
            throw node.error(.unknownKey, "unknown estimator key (expected one of: \(allowed.sorted().joined(separator: ", ")))")
        }
        let modelNode = try m.required("model")
        let model = try modelNode.choice(models)
        var c = DensityEstimatorConfiguration(kind: .init(rawValue: model)!, featureCount: featureCount, contextCount: contextCount)
        if let v = try m.wholeNumber("hidden_features", atLeast: 1) { c.hiddenFeatures = v }
        if let v = try m.wholeNumber("num_transforms", atLeast: 1) { c.transformCount = v }
        if let v = try m.wholeNumber("num_blocks", atLeast: 1) { c.blockCount = v }
        if let v = try m.wholeNumber("num_bins", atLeast: 1) { c.binCount = v }
        if let v = try m.wholeNumber("num_components", atLeast: 1) { c.componentCount = v }
        if let n = m.optional("tail_bound") {
            let v = try n.double()
            if !(v > 0) { throw n.error(.invalidValue, "must be positive, got \(v)") }
            c.tailBound = v
        }
        if let n = m.optional("activation") {
            c.activation = Activation(rawValue: try n.choice(Activation.allCases.map(\.rawValue)))
        }
        if let n = m.optional("permutation") {
            c.permutation = .init(rawValue: try n.choice(["reverse", "random"]))!
        }
        if let n = m.optional("coupling") {
            c.couplingMixing = try n.choice(["lu", "permutation"]) == "lu" ? .luLinear : .permutation
        }
        for (key, apply) in [("z_score_\(featureName)", { (b: Bool) in c.zScoreFeatures = b }),
                             ("z_score_\(contextName)", { (b: Bool) in c.zScoreContext = b })] {
            if let n = m.optional(key) { apply(try n.bool()) }
        }
        if let n = m.optional("structured_\(contextName)") { c.structuredContext = try n.bool() }
        if let n = m.optional("embedding") {
            c.embedding = try EmbeddingOptions.configuration(n, inputCount: contextCount, inputName: contextName)
        }
        do {
            try c.validate()
        } catch {
            throw modelNode.error(.invalidValue, "\(error)")
        }
        return c
    }
}
