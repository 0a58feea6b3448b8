/// A posterior that cannot do what was asked, and what to do about it.
public struct PosteriorError: Error, CustomStringConvertible, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        public init(_ name: String) { self.name = name }
        public var description: String { name }

        public static let samplingFailed = Code("sampling-failed")
        public static let shapeMismatch = Code("shape-mismatch")
        /// An observation holds NaN or ±∞.
        public static let nonFiniteObservation = Code("non-finite-observation")
        public static let badDirectory = Code("bad-directory")
        public static let emptyDataset = Code("empty-dataset")
        public static let unsupportedEnsemble = Code("unsupported-ensemble")
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
