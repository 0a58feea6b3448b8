import CLibPQ
import Foundation

/// A libpq connection. Parameters go as text (numbers, strings) or binary (bytea);
/// results come back in binary format so that bytea needs no hex decoding and numbers no
/// parsing, which is what keeps bulk reads of θ and x fast.
final class PostgresConnection: SQLConnection {
    let dialect = SQLDialect.postgres
    let maxBindParameters = 65_535
    private var conn: OpaquePointer?

    init(url: String, redactedURL: String, connectTimeoutSeconds: Int = 10) throws {
        // Earlier keywords are defaults that the URL (expanded from dbname) may override.
        let keywords = ["connect_timeout", "application_name", "dbname"]
        let values = [String(connectTimeoutSeconds), "ili", url]
        let cKeywords = keywords.map { strdup($0) }
        let cValues = values.map { strdup($0) }
        defer { (cKeywords + cValues).forEach { free($0) } }
        let kw: [UnsafePointer<CChar>?] = cKeywords.map { UnsafePointer($0) } + [nil]
        let vs: [UnsafePointer<CChar>?] = cValues.map { UnsafePointer($0) } + [nil]
        let connection = PQconnectdbParams(kw, vs, 1)
        guard let connection, PQstatus(connection) == CONNECTION_OK else {
            let detail = connection.map { String(cString: PQerrorMessage($0)) } ?? "libpq could not allocate a connection"
            PQfinish(connection)
            throw RegistryError(.unavailable, """
                cannot connect to the registry at \(redactedURL): \(detail.trimmingCharacters(in: .whitespacesAndNewlines)). \
                Start the database, or point --registry / ILI_REGISTRY at one that runs
                """)
        }
        // Notices such as "relation already exists, skipping" are not for the user.
        PQsetNoticeProcessor(connection, { _, _ in }, nil)
        conn = connection
    }

    deinit { close() }

    var isUsable: Bool { conn.map { PQstatus($0) == CONNECTION_OK } ?? false }

    func close() {
        if let conn { PQfinish(conn) }
        conn = nil
    }

    func execute(_ sql: String, _ binds: [SQLValue]) throws -> SQLResult {
        let result = try run(sql, binds)
        defer { PQclear(result) }
        var out = SQLResult()
        out.affectedRows = Int(String(cString: PQcmdTuples(result))) ?? 0
        let rows = Int(PQntuples(result)), columns = Int(PQnfields(result))
        guard rows > 0 else { return out }
        let types = (0..<columns).map { PQftype(result, Int32($0)) }
        out.rows.reserveCapacity(rows)
        for r in 0..<rows {
            var values = [SQLValue]()
            values.reserveCapacity(columns)
            for c in 0..<columns {
                if PQgetisnull(result, Int32(r), Int32(c)) != 0 {
                    values.append(.null)
                    continue
                }
                let length = Int(PQgetlength(result, Int32(r), Int32(c)))
                let raw = UnsafeRawBufferPointer(start: PQgetvalue(result, Int32(r), Int32(c)), count: length)
                values.append(try Self.decode(raw, type: types[c]))
            }
            out.rows.append(SQLRow(values: values))
        }
        return out
    }

    func forEachRawRow(_ sql: String, _ binds: [SQLValue], _ body: (RawRow) throws -> Void) throws {
        let result = try run(sql, binds)
        defer { PQclear(result) }
        for r in 0..<PQntuples(result) {
            try body(PostgresRawRow(result: result, row: r))
        }
    }

    /// Sends one statement with its parameters; the caller owns (and PQclears) the result.
    private func run(_ sql: String, _ binds: [SQLValue]) throws -> OpaquePointer {
        guard let conn else { throw SQLFailure(kind: .connectionLost, message: "the connection was closed") }
        let n = binds.count
        var lengths = [Int32](repeating: 0, count: n)
        var formats = [Int32](repeating: 0, count: n)
        var offsets = [Int](repeating: -1, count: n)
        // One arena for all parameter bytes; it starts non-empty so that an empty bytea
        // still gets a non-NULL pointer.
        var arena: [UInt8] = [0]
        for (i, bind) in binds.enumerated() {
            func text(_ s: String) {
                offsets[i] = arena.count
                arena.append(contentsOf: s.utf8)
                arena.append(0)
            }
            switch bind {
            case .null: break
            case .integer(let v): text(String(v))
            case .real(let v): text(v.isNaN ? "NaN" : v.isInfinite ? (v > 0 ? "Infinity" : "-Infinity") : "\(v)")
            case .text(let s): text(s)
            case .bool(let b): text(b ? "t" : "f")
            case .blob(let bytes):
                offsets[i] = arena.count
                arena.append(contentsOf: bytes)
                lengths[i] = Int32(bytes.count)
                formats[i] = 1
            case .postgresArray(let array):
                offsets[i] = arena.count
                array.encode(into: &arena)
                lengths[i] = Int32(arena.count - offsets[i])
                formats[i] = 1
            }
        }
        let result: OpaquePointer? = arena.withUnsafeBufferPointer { buffer in
            let base = UnsafeRawPointer(buffer.baseAddress!)
            let pointers: [UnsafePointer<CChar>?] = offsets.map {
                $0 < 0 ? nil : (base + $0).assumingMemoryBound(to: CChar.self)
            }
            return PQexecParams(conn, sql, Int32(n), nil, pointers, lengths, formats, 1)
        }
        let status = result.map { PQresultStatus($0) } ?? PGRES_FATAL_ERROR
        guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK, let result else {
            let error = failure(result)
            PQclear(result)
            throw error
        }
        return result
    }

    func executeScript(_ sql: String) throws {
        guard let conn else { throw SQLFailure(kind: .connectionLost, message: "the connection was closed") }
        let result = PQexec(conn, sql)
        defer { PQclear(result) }
        let status = result.map { PQresultStatus($0) } ?? PGRES_FATAL_ERROR
        guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK else { throw failure(result) }
    }

    private func failure(_ result: OpaquePointer?) -> SQLFailure {
        var message = result.map { String(cString: PQresultErrorMessage($0)) } ?? ""
        if message.isEmpty, let conn { message = String(cString: PQerrorMessage(conn)) }
        message = message.trimmingCharacters(in: .whitespacesAndNewlines)
        func field(_ code: UInt8) -> String? {
            guard let result, let p = PQresultErrorField(result, Int32(code)) else { return nil }
            return String(cString: p)
        }
        let state = field(UInt8(ascii: "C")) ?? ""
        let constraint = field(UInt8(ascii: "n"))
        let kind: SQLFailure.Kind
        if !isUsable || state.hasPrefix("08") || ["57P01", "57P02", "57P03"].contains(state) {
            kind = .connectionLost
        } else {
            switch state {
            case "23505": kind = .uniqueViolation
            case "23503": kind = .foreignKeyViolation
            case "23514": kind = .checkViolation
            case "40P01", "40001": kind = .transient
            default: kind = .other
            }
        }
        return SQLFailure(kind: kind, message: message.isEmpty ? "PostgreSQL reported an error without a message" : message,
                          constraint: constraint)
    }

    // Type OIDs from PostgreSQL's pg_type catalogue (stable across versions).
    private static func decode(_ raw: UnsafeRawBufferPointer, type: Oid) throws -> SQLValue {
        func bigEndian<T: FixedWidthInteger>(_: T.Type) -> T {
            var v: T = 0
            withUnsafeMutableBytes(of: &v) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw.prefix(MemoryLayout<T>.size))) }
            return T(bigEndian: v)
        }
        switch type {
        case 16: return .bool(raw.first == 1)
        case 20: return .integer(bigEndian(Int64.self))
        case 23: return .integer(Int64(bigEndian(Int32.self)))
        case 21: return .integer(Int64(bigEndian(Int16.self)))
        case 26: return .integer(Int64(bigEndian(UInt32.self)))
        case 700: return .real(Double(Float(bitPattern: bigEndian(UInt32.self))))
        case 701: return .real(Double(bitPattern: bigEndian(UInt64.self)))
        case 17: return .blob(Array(raw))
        case 25, 1043, 1042, 19, 114: return .text(String(decoding: raw, as: UTF8.self))
        case 3802: return .text(String(decoding: raw.dropFirst(), as: UTF8.self)) // jsonb: version byte, then text
        case 2278: return .null // void, e.g. pg_advisory_xact_lock()
        default:
            throw SQLFailure(kind: .other, message: "the registry cannot read PostgreSQL type OID \(type) in binary form; cast the column in the query")
        }
    }
}

private struct PostgresRawRow: RawRow {
    let result: OpaquePointer
    let row: Int32

    func bytes(_ column: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: PQgetvalue(result, row, Int32(column)), count: Int(PQgetlength(result, row, Int32(column))))
    }

    func int64(_ column: Int) -> Int64 {
        let raw = bytes(column)
        var value: Int64 = 0
        for byte in raw { value = value << 8 | Int64(byte) }
        // Binary int4/int2 are shorter; sign-extend them.
        let bits = raw.count * 8
        return bits < 64 && bits > 0 ? (value << (64 - bits)) >> (64 - bits) : value
    }
}
