import ILINets

/// Reads an estimator entry's `embedding`, the network that compresses its input first.
enum EmbeddingOptions {
    /// The embedding described at `node`, whose `input_count` defaults to `inputCount` (the
    /// width of `inputName`) and must equal it when given. Errors carry the full key path.
    static func configuration(_ node: ConfigNode, inputCount: Int, inputName: String) throws -> EmbeddingConfiguration {
        do {
            return try EmbeddingConfiguration(yamlNode: node.node, inputCount: inputCount, inputName: inputName)
        } catch let error as EmbeddingYAMLError {
            let code: ConfigError.Code
            switch error.problem {
            case .unknownKey: code = .unknownKey
            case .missingKey: code = .missingKey
            case .wrongType: code = .wrongType
            case .invalidValue: code = .invalidValue
            }
            let path = error.keyPath.isEmpty ? node.keyPath
                : error.keyPath.hasPrefix("[") ? node.keyPath + error.keyPath : "\(node.keyPath).\(error.keyPath)"
            throw ConfigError(code, source: node.source, keyPath: path, error.message)
        }
    }
}
