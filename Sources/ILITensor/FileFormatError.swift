/// A file that ili could not read or write, with the path and what is wrong.
///
/// ```swift
/// do { _ = try NPYFile.read("theta.npy") }
/// catch let e as FileFormatError where e.code == .unsupportedDType { print(e) }
/// // theta.npy: unsupported dtype '<i8': ili reads float32 ('<f4') or float64 ('<f8') arrays; convert with x.astype('float32')
/// ```
public struct FileFormatError: Error, CustomStringConvertible, Sendable {
    /// What kind of problem; extensible without breaking callers that switch on known codes.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        public init(_ name: String) { self.name = name }
        public var description: String { name }

        public static let cannotOpen = Code("cannot-open")
        public static let cannotWrite = Code("cannot-write")
        public static let badMagic = Code("bad-magic")
        public static let malformedHeader = Code("malformed-header")
        public static let unsupportedDType = Code("unsupported-dtype")
        public static let fortranOrder = Code("fortran-order")
        public static let unsupportedShape = Code("unsupported-shape")
        public static let truncated = Code("truncated")
        public static let missingTensor = Code("missing-tensor")
    }

    public var code: Code
    /// The file concerned, as the caller named it.
    public var path: String
    /// What is wrong and, where it helps, what to do about it.
    public var message: String

    public init(_ code: Code, path: String, _ message: String) {
        self.code = code
        self.path = path
        self.message = message
    }

    public var description: String { "\(path): \(message)" }
}
