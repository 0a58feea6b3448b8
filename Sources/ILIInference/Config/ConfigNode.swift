import Foundation
import Yams

/// A YAML node that knows where it sits in its file, so that every error names the key.
///
/// Readers ask for what they expect and get a `ConfigError` otherwise:
///
/// ```swift
/// let root = try ConfigNode.parse(yaml: text, source: "run.yaml")
/// let train = try root.mapping(allowing: ["batch_size", "learning_rate"])
/// let batch = try train.optional("batch_size")?.int() ?? 200
/// ```
public struct ConfigNode {
    public let node: Node
    public let source: String
    public let keyPath: String
    /// The whole document this node was read from, as written (recorded verbatim with results).
    public let text: String

    public init(node: Node, source: String, keyPath: String = "", text: String = "") {
        self.node = node
        self.source = source
        self.keyPath = keyPath
        self.text = text
    }

    public static func parse(yaml: String, source: String) throws -> ConfigNode {
        do {
            guard let node = try Yams.compose(yaml: yaml) else {
                throw ConfigError(.syntax, source: source, keyPath: "", "the file is empty")
            }
            return ConfigNode(node: node, source: source, text: yaml)
        } catch let error as ConfigError {
            throw error
        } catch {
            throw ConfigError(.syntax, source: source, keyPath: "", "not valid YAML: \(error)")
        }
    }

    public static func load(path: String) throws -> ConfigNode {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(.missingFile, source: path, keyPath: "", "cannot read the configuration file")
        }
        return try parse(yaml: String(decoding: data, as: UTF8.self), source: path)
    }

    public func error(_ code: ConfigError.Code, _ message: String) -> ConfigError {
        ConfigError(code, source: source, keyPath: keyPath, message)
    }

    var kindDescription: String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .scalar(let s): return "'\(s.string)'"
        case .alias: return "an alias"
        }
    }

    func child(_ key: String, _ node: Node) -> ConfigNode {
        ConfigNode(node: node, source: source, keyPath: keyPath.isEmpty ? key : "\(keyPath).\(key)", text: text)
    }

    // MARK: Mappings

    /// The node as a mapping whose keys must all be in `allowing` (when given).
    public func mapping(allowing allowed: Set<String>? = nil) throws -> ConfigMapping {
        guard case .mapping(let m) = node else {
            throw error(.wrongType, "expected a mapping of keys to values, got \(kindDescription)")
        }
        var entries: [(String, ConfigNode)] = []
        for (k, v) in m {
            guard let key = k.string else { throw error(.wrongType, "a key is not a string") }
            if let allowed, !allowed.contains(key) {
                let hint = allowed.sorted().joined(separator: ", ")
                throw child(key, v).error(.unknownKey, "unknown key (expected one of: \(hint))")
            }
            if entries.contains(where: { $0.0 == key }) {
                throw child(key, v).error(.invalidValue, "key given twice")
            }
            entries.append((key, child(key, v)))
        }
        return ConfigMapping(owner: self, entries: entries)
    }

    // MARK: Lists

    public func list() throws -> [ConfigNode] {
        guard case .sequence(let s) = node else {
            throw error(.wrongType, "expected a list, got \(kindDescription)")
        }
        return s.enumerated().map { i, n in
            ConfigNode(node: n, source: source, keyPath: "\(keyPath)[\(i)]", text: text)
        }
    }

    /// A list of numbers; a single number is accepted as a list of one when `scalarAllowed`.
    public func doubles(scalarAllowed: Bool = false) throws -> [Double] {
        if scalarAllowed, case .scalar = node { return [try double()] }
        return try list().map { try $0.double() }
    }

    /// A list of lists of numbers (a matrix, row by row).
    public func doubleRows() throws -> [[Double]] {
        try list().map { try $0.doubles() }
    }

    // MARK: Scalars

    public func double() throws -> Double {
        guard case .scalar(let s) = node, let value = Double(s.string.trimmingCharacters(in: .whitespaces))
                ?? node.float else {
            throw error(.wrongType, "expected a number, got \(kindDescription)")
        }
        return value
    }

    public func int() throws -> Int {
        guard case .scalar(let s) = node, let value = Int(s.string) else {
            throw error(.wrongType, "expected a whole number, got \(kindDescription)")
        }
        return value
    }

    public func bool() throws -> Bool {
        guard case .scalar = node, let value = node.bool else {
            throw error(.wrongType, "expected true or false, got \(kindDescription)")
        }
        return value
    }

    public func string() throws -> String {
        guard case .scalar(let s) = node else {
            throw error(.wrongType, "expected a string, got \(kindDescription)")
        }
        return s.string
    }

    /// A string that must be one of `choices`.
    public func choice(_ choices: [String]) throws -> String {
        let s = try string()
        guard choices.contains(s) else {
            throw error(.invalidValue, "'\(s)' is not one of: \(choices.joined(separator: ", "))")
        }
        return s
    }
}

/// The entries of a YAML mapping, read by key.
public struct ConfigMapping {
    public let owner: ConfigNode
    public let entries: [(key: String, value: ConfigNode)]

    public var keys: [String] { entries.map(\.key) }

    public func optional(_ key: String) -> ConfigNode? {
        entries.first { $0.key == key }?.value
    }

    public func required(_ key: String) throws -> ConfigNode {
        guard let v = optional(key) else {
            throw owner.error(.missingKey, "missing key '\(key)'")
        }
        return v
    }

    /// The whole number at `key`, or nil when absent; an error naming the key when it is
    /// below `minimum`.
    public func wholeNumber(_ key: String, atLeast minimum: Int) throws -> Int? {
        guard let n = optional(key) else { return nil }
        let v = try n.int()
        if v < minimum { throw n.error(.invalidValue, "must be at least \(minimum), got \(v)") }
        return v
    }

    /// The single entry of a one-key mapping such as `{uniform: {...}}`, its key among `choices`.
    public func single(choices: [String]) throws -> (key: String, value: ConfigNode) {
        guard entries.count == 1, let entry = entries.first else {
            throw owner.error(.invalidValue, "expected exactly one of: \(choices.joined(separator: ", ")); got \(entries.isEmpty ? "none" : keys.joined(separator: ", "))")
        }
        guard choices.contains(entry.key) else {
            throw entry.value.error(.unknownKey, "unknown kind (expected one of: \(choices.joined(separator: ", ")))")
        }
        return entry
    }
}
