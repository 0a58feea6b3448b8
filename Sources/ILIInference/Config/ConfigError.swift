/// A configuration that ili cannot use, naming the file and the key path.
///
/// ```
/// two-moons.yaml: prior.uniform.low: expected 2 numbers (one per parameter), got 3
/// ```
public struct ConfigError: Error, CustomStringConvertible, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        public init(_ name: String) { self.name = name }
        public var description: String { name }

        public static let syntax = Code("syntax")
        public static let unknownKey = Code("unknown-key")
        public static let missingKey = Code("missing-key")
        public static let wrongType = Code("wrong-type")
        public static let invalidValue = Code("invalid-value")
        public static let missingFile = Code("missing-file")
    }

    public var code: Code
    /// The configuration file (or other source) concerned.
    public var source: String
    /// Where in it, as a dotted key path such as `inference.estimators[1].model`; empty for the whole file.
    public var keyPath: String
    public var message: String

    public init(_ code: Code, source: String, keyPath: String, _ message: String) {
        self.code = code
        self.source = source
        self.keyPath = keyPath
        self.message = message
    }

    public var description: String {
        keyPath.isEmpty ? "\(source): \(message)" : "\(source): \(keyPath): \(message)"
    }
}
