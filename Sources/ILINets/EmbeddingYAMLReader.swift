import Yams

/// What is wrong with an embedding written in YAML, and where: `keyPath` is relative to the
/// embedding (`layers[1].type`), so that a configuration reader can prefix its own path.
public struct EmbeddingYAMLError: Error, CustomStringConvertible, Sendable {
    public enum Problem: Sendable { case unknownKey, missingKey, wrongType, invalidValue }

    public var problem: Problem
    public var keyPath: String
    public var message: String

    public init(_ problem: Problem, keyPath: String, _ message: String) {
        self.problem = problem
        self.keyPath = keyPath
        self.message = message
    }

    public var description: String { keyPath.isEmpty ? message : "\(keyPath): \(message)" }
}

extension EmbeddingConfiguration {
    /// Parses an embedding written in YAML, with snake_case keys and layer types as in
    /// every configuration file:
    ///
    /// ```yaml
    /// input_count: 128       # values per row (channels × length); see init(yamlNode:inputCount:)
    /// input_channels: 1
    /// layers:
    ///   - {type: conv1d, channels: 8, kernel: 5, activation: relu}
    ///   - {type: max_pool, size: 4}
    ///   - {type: flatten}
    ///   - {type: dense, width: 16}
    /// ```
    ///
    /// A set of points (`SetLayout`: `max_points` slots of a presence flag and
    /// `point_features` features) is read by a DeepSets layer, which must come first:
    ///
    /// ```yaml
    /// layers:
    ///   - {type: deep_sets, max_points: 64, point_features: 4, pool: sum, phi: [64, 64], rho: [64, 8], activation: relu}
    /// ```
    public init(yaml: String) throws {
        let node: Node?
        do {
            node = try Yams.compose(yaml: yaml)
        } catch {
            throw EmbeddingYAMLError(.wrongType, keyPath: "", "not valid YAML: \(error)")
        }
        guard let node else { throw EmbeddingYAMLError(.missingKey, keyPath: "", "the embedding is empty") }
        try self.init(yamlNode: node)
    }

    /// Reads an embedding from a YAML mapping. `input_count` may be left out when
    /// `inputCount` gives it (the width of what the embedding compresses); when both are
    /// given they must agree. Errors name the key path, list the valid keys or types, and
    /// say the snake_case spelling of a camelCase key. `inputName` names the input in them.
    public init(yamlNode node: Node, inputCount defaultInputCount: Int? = nil, inputName: String = "the input") throws {
        let top = try Self.mapping(node, at: "", allowing: ["input_count", "input_channels", "layers"])
        let inputCount: Int
        if let n = top["input_count"] {
            inputCount = try Self.wholeNumber(n, at: "input_count", atLeast: 1)
            if let defaultInputCount, inputCount != defaultInputCount {
                throw EmbeddingYAMLError(.invalidValue, keyPath: "input_count",
                                         "\(inputCount) does not match the \(defaultInputCount) values of \(inputName); leave it out")
            }
        } else if let defaultInputCount {
            inputCount = defaultInputCount
        } else {
            throw EmbeddingYAMLError(.missingKey, keyPath: "", "missing key 'input_count' (values per row: channels × length)")
        }
        let channels = try top["input_channels"].map { try Self.wholeNumber($0, at: "input_channels", atLeast: 1) } ?? 1
        guard let layersNode = top["layers"] else {
            throw EmbeddingYAMLError(.missingKey, keyPath: "", "missing key 'layers' (a list of {type: …} entries)")
        }
        guard case .sequence(let list) = layersNode else {
            throw EmbeddingYAMLError(.wrongType, keyPath: "layers", "expected a list of layers")
        }
        let layers = try list.enumerated().map { k, layerNode in try Self.layer(layerNode, at: "layers[\(k)]") }
        // A DeepSets layer's own mistakes, named by their keys before the general check.
        for (k, layer) in layers.enumerated() where layer.type == .deepSets {
            guard k == 0 else {
                throw EmbeddingYAMLError(.invalidValue, keyPath: "layers[\(k)].type",
                                         "a deep_sets layer reads the padded set itself, so it must be the first layer")
            }
            let layout = SetLayout(maxPoints: layer.maxPoints!, pointFeatures: layer.pointFeatures!)
            guard layout.valueCount == inputCount else {
                throw EmbeddingYAMLError(.invalidValue, keyPath: "layers[\(k)].max_points",
                                         "\(layout.maxPoints) points × (\(layout.pointFeatures) features + 1 presence flag) = \(layout.valueCount) values, but \(inputName) has \(inputCount)")
            }
            guard channels == 1 else {
                throw EmbeddingYAMLError(.invalidValue, keyPath: "input_channels", "a deep_sets layer reads one channel of padded points; leave input_channels out")
            }
        }
        self.init(inputCount: inputCount, inputChannels: channels, layers: layers)
        do {
            try validate()
        } catch {
            throw EmbeddingYAMLError(.invalidValue, keyPath: "layers", "\(error)")
        }
    }

    /// The keys each layer type takes.
    static let layerKeys: [EmbeddingLayerConfiguration.Kind: [String]] = [
        .dense: ["type", "width", "activation"],
        .conv1d: ["type", "channels", "kernel", "stride", "padding", "activation"],
        .maxPool: ["type", "size"],
        .avgPool: ["type", "size"],
        .flatten: ["type"],
        .deepSets: ["type", "max_points", "point_features", "pool", "phi", "rho", "activation"],
    ]

    /// Keys that must be present for each layer type.
    static let requiredLayerKeys: [EmbeddingLayerConfiguration.Kind: [String]] = [
        .dense: ["width"], .conv1d: ["channels", "kernel"], .maxPool: ["size"], .avgPool: ["size"], .flatten: [],
        .deepSets: ["max_points", "point_features", "pool", "phi"],
    ]

    static func layer(_ node: Node, at path: String) throws -> EmbeddingLayerConfiguration {
        let allKeys = Set(layerKeys.values.joined())
        let m = try mapping(node, at: path, allowing: allKeys)
        let types = EmbeddingLayerConfiguration.Kind.allCases.map(\.yamlName)
        guard let typeNode = m["type"] else {
            throw EmbeddingYAMLError(.missingKey, keyPath: path, "missing key 'type' (one of: \(types.joined(separator: ", ")))")
        }
        guard case .scalar(let scalar) = typeNode else {
            throw EmbeddingYAMLError(.wrongType, keyPath: path + ".type", "expected a layer type (one of: \(types.joined(separator: ", ")))")
        }
        let name = scalar.string
        guard let kind = EmbeddingLayerConfiguration.Kind.allCases.first(where: { $0.yamlName == name }) else {
            if let camel = EmbeddingLayerConfiguration.Kind.allCases.first(where: { $0.rawValue == name }) {
                throw EmbeddingYAMLError(.invalidValue, keyPath: path + ".type", "'\(name)' is written \(camel.yamlName) (types and keys are snake_case)")
            }
            throw EmbeddingYAMLError(.invalidValue, keyPath: path + ".type", "'\(name)' is not a layer type; valid types: \(types.joined(separator: ", "))")
        }
        let allowed = layerKeys[kind]!
        for key in m.keys where !allowed.contains(key) {
            throw EmbeddingYAMLError(.unknownKey, keyPath: "\(path).\(key)", "not a key of a \(name) layer (it takes: \(allowed.joined(separator: ", ")))")
        }
        for key in requiredLayerKeys[kind]! where m[key] == nil {
            throw EmbeddingYAMLError(.missingKey, keyPath: path, "a \(name) layer needs '\(key)'")
        }
        func number(_ key: String, atLeast minimum: Int) throws -> Int? {
            try m[key].map { try wholeNumber($0, at: "\(path).\(key)", atLeast: minimum) }
        }
        var activation: Activation?
        if let n = m["activation"] {
            let names = Activation.allCases.map(\.rawValue)
            guard case .scalar(let s) = n, let a = Activation(rawValue: s.string) else {
                throw EmbeddingYAMLError(.invalidValue, keyPath: "\(path).activation", "not an activation (one of: \(names.joined(separator: ", ")))")
            }
            activation = a
        }
        var pool: SetPooling?
        if let n = m["pool"] {
            let names = SetPooling.allCases.map(\.rawValue)
            guard case .scalar(let s) = n, let p = SetPooling(rawValue: s.string) else {
                throw EmbeddingYAMLError(.invalidValue, keyPath: "\(path).pool", "not a pooling (one of: \(names.joined(separator: ", ")))")
            }
            pool = p
        }
        func widths(_ key: String, nonEmpty: Bool) throws -> [Int]? {
            guard let n = m[key] else { return nil }
            guard case .sequence(let list) = n else {
                throw EmbeddingYAMLError(.wrongType, keyPath: "\(path).\(key)", "expected a list of layer widths, e.g. [64, 64]")
            }
            if nonEmpty && list.isEmpty {
                throw EmbeddingYAMLError(.invalidValue, keyPath: "\(path).\(key)", "needs at least one layer width")
            }
            return try list.enumerated().map { j, w in try wholeNumber(w, at: "\(path).\(key)[\(j)]", atLeast: 1) }
        }
        return EmbeddingLayerConfiguration(type: kind, width: try number("width", atLeast: 1), channels: try number("channels", atLeast: 1),
                                           kernel: try number("kernel", atLeast: 1), stride: try number("stride", atLeast: 1),
                                           padding: try number("padding", atLeast: 0), size: try number("size", atLeast: 1),
                                           activation: activation, maxPoints: try number("max_points", atLeast: 1),
                                           pointFeatures: try number("point_features", atLeast: 1), pool: pool,
                                           phi: try widths("phi", nonEmpty: true), rho: try widths("rho", nonEmpty: false))
    }

    /// The entries of a mapping whose keys are all in `allowed`; a camelCase key is named
    /// with its snake_case spelling.
    static func mapping(_ node: Node, at path: String, allowing allowed: Set<String>) throws -> [String: Node] {
        guard case .mapping(let mapping) = node else {
            throw EmbeddingYAMLError(.wrongType, keyPath: path, "expected a mapping of keys to values")
        }
        var entries: [String: Node] = [:]
        for (k, v) in mapping {
            guard let key = k.string else { throw EmbeddingYAMLError(.wrongType, keyPath: path, "a key is not a string") }
            let keyPath = path.isEmpty ? key : "\(path).\(key)"
            if !allowed.contains(key) {
                let snake = snakeCase(key)
                if snake != key && allowed.contains(snake) {
                    throw EmbeddingYAMLError(.unknownKey, keyPath: keyPath, "'\(key)' is written \(snake) (configuration keys are snake_case)")
                }
                throw EmbeddingYAMLError(.unknownKey, keyPath: keyPath, "unknown key (expected one of: \(allowed.sorted().joined(separator: ", ")))")
            }
            if entries[key] != nil { throw EmbeddingYAMLError(.invalidValue, keyPath: keyPath, "key given twice") }
            entries[key] = v
        }
        return entries
    }

    static func wholeNumber(_ node: Node, at path: String, atLeast minimum: Int) throws -> Int {
        guard case .scalar(let s) = node, let value = Int(s.string) else {
            throw EmbeddingYAMLError(.wrongType, keyPath: path, "expected a whole number")
        }
        guard value >= minimum else {
            throw EmbeddingYAMLError(.invalidValue, keyPath: path, "must be at least \(minimum), got \(value)")
        }
        return value
    }

    /// `inputCount` → `input_count`.
    static func snakeCase(_ key: String) -> String {
        var out = ""
        for c in key {
            if c.isUppercase { out += "_" + c.lowercased() } else { out.append(c) }
        }
        return out
    }
}
