/// A validation that cannot run as asked, with what to change.
///
/// ```swift
/// throw ValidationError("the test set has 10 θ rows and 9 x rows; give one x row per θ row")
/// ```
public struct ValidationError: Error, CustomStringConvertible, Sendable {
    public var message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
