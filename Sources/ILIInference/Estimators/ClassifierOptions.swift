import ILINets

/// Reads the classifier entries of an NRE run configuration.
///
/// ```yaml
/// estimators:
///   - {model: resnet, hidden_features: 50}
///   - {model: mlp, hidden_features: 64, num_blocks: 3, repeats: 2}
/// ```
public enum ClassifierOptions {
    public static let models = ["resnet", "mlp"]
    static let keys: Set<String> = [
        "model", "repeats", "hidden_features", "num_blocks", "activation", "z_score_theta", "z_score_x",
        "structured_x", "embedding",
    ]

    /// The configuration of the classifier of (θ, x) pairs an entry describes.
    public static func configuration(for entry: InferenceSpecification.EstimatorEntry, parameterCount: Int,
                                     dataCount: Int) throws -> ClassifierConfiguration {
        let m = entry.options
        for (key, node) in m.entries where !keys.contains(key) {
            throw node.error(.unknownKey, "unknown classifier key (expected one of: \(keys.sorted().joined(separator: ", ")))")
        }
        let modelNode = try m.required("model")
        let model = try modelNode.choice(models)
        var c = ClassifierConfiguration(architecture: model == "mlp" ? .mlp : .residual,
                                        parameterCount: parameterCount, dataCount: dataCount)
        if let v = try m.wholeNumber("hidden_features", atLeast: 1) { c.hiddenFeatures = v }
        if let v = try m.wholeNumber("num_blocks", atLeast: 1) { c.blockCount = v }
        if let n = m.optional("activation") {
            c.activation = Activation(rawValue: try n.choice(Activation.allCases.map(\.rawValue)))!
        }
        if let n = m.optional("z_score_theta") { c.zScoreParameters = try n.bool() }
        if let n = m.optional("z_score_x") { c.zScoreData = try n.bool() }
        if let n = m.optional("structured_x") { c.structuredData = try n.bool() }
        if let n = m.optional("embedding") {
            c.embedding = try EmbeddingOptions.configuration(n, inputCount: dataCount, inputName: "x")
        }
        do {
            try c.validate()
        } catch {
            throw modelNode.error(.invalidValue, "\(error)")
        }
        return c
    }
}
