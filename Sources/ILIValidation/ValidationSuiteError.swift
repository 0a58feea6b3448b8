/// A validation that cannot run as asked, with what to change.
///
/// (Not `ValidationError`: swift-argument-parser declares that name, and command files import both.)
///
/// ```swift
/// throw ValidationSuiteError("the test set has 10 θ rows and 9 x rows; give one x row per θ row")
/// ```
public struct ValidationSuiteError: Error, CustomStringConvertible, Sendable {
    public var message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
