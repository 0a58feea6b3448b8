/// A value bound to a statement parameter or read from a result column. Both back ends
/// map their types onto these few cases, so the registry's queries are written once.
enum SQLValue: Sendable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
    /// PostgreSQL `boolean`; SQLite has none and stores 0/1, which reads back as `.integer`.
    case bool(Bool)
    /// A PostgreSQL array (bulk inserts via unnest); SQLite refuses it.
    case postgresArray(PostgresArray)

    static func int(_ v: Int) -> SQLValue { .integer(Int64(v)) }
    static func optionalText(_ v: String?) -> SQLValue { v.map(SQLValue.text) ?? .null }
    static func id<Record>(_ v: RegistryID<Record>) -> SQLValue { .integer(v.rawValue) }
    static func optionalId<Record>(_ v: RegistryID<Record>?) -> SQLValue { v.map(SQLValue.id) ?? .null }
}

/// What a statement returned: its rows and, for INSERT/UPDATE/DELETE, how many rows it changed.
struct SQLResult {
    var rows: [SQLRow] = []
    var affectedRows: Int = 0
}

/// One result row, read by column position in the order of the SELECT list.
struct SQLRow {
    var values: [SQLValue]

    subscript(_ i: Int) -> SQLValue { values[i] }

    func int64(_ i: Int) throws -> Int64 {
        switch values[i] {
        case .integer(let v): return v
        case .bool(let b): return b ? 1 : 0
        case .real(let d) where d == d.rounded(): return Int64(d)
        default: throw SQLRow.mismatch(i, "an integer", values[i])
        }
    }

    func int(_ i: Int) throws -> Int { Int(try int64(i)) }

    func optionalInt64(_ i: Int) throws -> Int64? {
        if case .null = values[i] { return nil }
        return try int64(i)
    }

    func id<Record>(_ i: Int) throws -> RegistryID<Record> { RegistryID(rawValue: try int64(i)) }

    func optionalId<Record>(_ i: Int) throws -> RegistryID<Record>? { try optionalInt64(i).map(RegistryID.init(rawValue:)) }

    func double(_ i: Int) throws -> Double {
        switch values[i] {
        case .real(let v): return v
        case .integer(let v): return Double(v)
        default: throw SQLRow.mismatch(i, "a number", values[i])
        }
    }

    func optionalDouble(_ i: Int) throws -> Double? {
        if case .null = values[i] { return nil }
        return try double(i)
    }

    func bool(_ i: Int) throws -> Bool {
        switch values[i] {
        case .bool(let b): return b
        case .integer(let v): return v != 0
        default: throw SQLRow.mismatch(i, "a boolean", values[i])
        }
    }

    func text(_ i: Int) throws -> String {
        if case .text(let s) = values[i] { return s }
        throw SQLRow.mismatch(i, "text", values[i])
    }

    func optionalText(_ i: Int) throws -> String? {
        if case .null = values[i] { return nil }
        return try text(i)
    }

    func blob(_ i: Int) throws -> [UInt8] {
        switch values[i] {
        case .blob(let b): return b
        case .text(let s): return Array(s.utf8)
        default: throw SQLRow.mismatch(i, "bytes", values[i])
        }
    }

    private static func mismatch(_ i: Int, _ expected: String, _ got: SQLValue) -> RegistryError {
        RegistryError(.schema, "column \(i) holds \(got), not \(expected): the registry schema is not the one this ili expects; run `ili registry init` with a matching ili")
    }
}

/// A failure reported by a back end, before the registry turns it into a `RegistryError`
/// that names what the caller was doing.
struct SQLFailure: Error, CustomStringConvertible {
    enum Kind: Equatable {
        /// The server went away (or never answered); the connection is unusable.
        case connectionLost
        case uniqueViolation
        case foreignKeyViolation
        case checkViolation
        /// SQLite's file stayed locked past the busy timeout.
        case busy
        /// PostgreSQL aborted the transaction to break a deadlock or a serialisation
        /// conflict; running it again is expected to succeed.
        case transient
        case other
    }

    var kind: Kind
    var message: String
    /// The constraint the statement broke, where the back end names it.
    var constraint: String? = nil

    var description: String { message }
}
