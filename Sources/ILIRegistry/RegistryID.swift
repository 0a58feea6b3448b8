/// The id of one registry record of type `Record` (a round, a posterior, …).
///
/// The record type is only a tag: every id is the database's integer key, but a round's id
/// and a posterior's id are different types, so passing one where the other is expected
/// does not compile. In JSON and in text an id is the bare integer, exactly as a plain
/// `Int64` was, so stored JSON (a round's proposal) and printed output are unchanged.
public struct RegistryID<Record>: RawRepresentable, Hashable, Comparable, Sendable, Codable,
    CustomStringConvertible, ExpressibleByIntegerLiteral {
    public let rawValue: Int64

    public init(rawValue: Int64) {
        self.rawValue = rawValue
    }

    public init(integerLiteral value: Int64) {
        rawValue = value
    }

    public var description: String { String(rawValue) }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        guard let value = try? container.decode(Int64.self) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "a \(Self.recordName) id must be a whole number such as 12")
        }
        rawValue = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    /// The record's type name, for messages about a malformed id.
    static var recordName: String { String(describing: Record.self) }
}

public typealias ExperimentID = RegistryID<Experiment>
public typealias RoundID = RegistryID<Round>
public typealias ModelVersionID = RegistryID<ModelVersion>
public typealias PosteriorID = RegistryID<RegisteredPosterior>
public typealias TrainingJobID = RegistryID<TrainingJob>
public typealias ValidationResultID = RegistryID<ValidationResult>
