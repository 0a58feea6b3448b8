import ILINets
import Yams

/// Reads an estimator entry's `embedding`, the network that compresses its input first.
enum EmbeddingOptions {
    /// The embedding described at `node`, whose `inputCount` defaults to `inputCount` (the
    /// width of `inputName`) and must equal it when given.
    static func configuration(_ node: ConfigNode, inputCount: Int, inputName: String) throws -> EmbeddingConfiguration {
        var yaml = try Yams.serialize(node: node.node)
        if case .mapping(let mapping) = node.node, mapping["inputCount"] == nil {
            yaml = "inputCount: \(inputCount)\n" + yaml
        }
        let embedding: EmbeddingConfiguration
        do {
            embedding = try EmbeddingConfiguration(yaml: yaml)
        } catch {
            throw node.error(.invalidValue, "\(error)")
        }
        if embedding.inputCount != inputCount {
            throw node.error(.invalidValue, "inputCount \(embedding.inputCount) does not match the \(inputCount) values of \(inputName)")
        }
        return embedding
    }
}
