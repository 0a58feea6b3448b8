/// A sampler that cannot run as asked, and what to change.
///
/// ```swift
/// do { _ = try runMCMC(settings, target: f, initial: starts, groups: 1, count: 100, rng: &rng) }
/// catch let e as SamplerError where e.code == .invalidSettings { print(e.field ?? "", e) }
/// ```
public struct SamplerError: Error, CustomStringConvertible, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        public init(_ name: String) { self.name = name }
        public var description: String { name }

        /// A setting or argument out of range; `field` names it.
        public static let invalidSettings = Code("invalid-settings")
        /// Matrices or answers of the wrong size.
        public static let shapeMismatch = Code("shape-mismatch")
        /// Every starting point of some group has log-density −∞ (or NaN).
        public static let noFiniteStart = Code("no-finite-start")
        /// Importance resampling found no proposal with a finite weight.
        public static let noFiniteWeight = Code("no-finite-weight")
    }

    public var code: Code
    /// The setting or argument at fault (`"chains"`, `"thin"`, `"initial"`…), when one is.
    public var field: String?
    public var message: String

    public init(_ code: Code, field: String? = nil, _ message: String) {
        self.code = code
        self.field = field
        self.message = message
    }

    public var description: String { message }
}
