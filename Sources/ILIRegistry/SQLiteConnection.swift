import CSQLite
import Foundation

/// A SQLite database file in WAL mode, so readers never wait for the writer and each
/// commit appends to the log instead of rewriting pages. Prepared statements are cached
/// by their SQL text, which makes a repeated multi-row INSERT cost one prepare.
final class SQLiteConnection: SQLConnection {
    let dialect = SQLDialect.sqlite
    let maxBindParameters: Int
    private var db: OpaquePointer?
    private var statements: [String: OpaquePointer] = [:]

    /// SQLite copies a bound value when given this destructor (the C macro SQLITE_TRANSIENT).
    private static var transient: sqlite3_destructor_type { unsafeBitCast(-1, to: sqlite3_destructor_type.self) }

    /// Opens the database file at `path`; a missing file is created only when `create` is true.
    init(path: String, create: Bool = true, busyTimeoutMilliseconds: Int32 = 15_000) throws {
        var handle: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | (create ? SQLITE_OPEN_CREATE : 0)
        let rc = sqlite3_open_v2(path, &handle, flags, nil)
        guard rc == SQLITE_OK, let handle else {
            let detail = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(handle)
            throw RegistryError(.unavailable, "cannot open the SQLite registry sqlite:\(path): \(detail). Check that its directory exists and is writable")
        }
        db = handle
        sqlite3_extended_result_codes(handle, 1)
        sqlite3_busy_timeout(handle, busyTimeoutMilliseconds)
        maxBindParameters = Int(sqlite3_limit(handle, SQLITE_LIMIT_VARIABLE_NUMBER, -1))
        do {
            // NORMAL is durable across process crashes in WAL mode; only an OS crash can
            // lose the last commits, never corrupt the file.
            try retryingWhileBusy(for: busyTimeoutMilliseconds) {
                try executeScript("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")
            }
        } catch {
            close()
            throw RegistryError(.unavailable, "cannot open the SQLite registry sqlite:\(path): \(error). Check that it is a SQLite database and writable")
        }
    }

    deinit { close() }

    /// Checks before opening that the file at `path` exists unless it may be created, and
    /// with `createFolders` makes the missing folders above it; the errors name the path
    /// or the folder. (SQLite's own message for both is "unable to open database file".)
    static func prepareFile(at path: String, create: Bool, createFolders: Bool) throws {
        // In-memory and URI names are SQLite's to interpret.
        guard path != ":memory:", !path.hasPrefix("file:") else { return }
        let fm = FileManager.default
        if fm.fileExists(atPath: path) { return }
        guard create else {
            throw RegistryError(.unavailable, "no SQLite registry at sqlite:\(path): the file does not exist (check the path, or create the registry first)")
        }
        let folder = (path as NSString).deletingLastPathComponent
        guard createFolders, !folder.isEmpty, !fm.fileExists(atPath: folder) else { return }
        // The first missing folder from the top is the one the error names, and what is
        // above it says why it cannot be made.
        var missing = folder
        var existing = (folder as NSString).deletingLastPathComponent
        while !existing.isEmpty, existing != missing, !fm.fileExists(atPath: existing) {
            missing = existing
            existing = (existing as NSString).deletingLastPathComponent
        }
        let cannot = "cannot create the folder \(missing) for the SQLite registry sqlite:\(path)"
        var isDirectory: ObjCBool = false
        let above = existing.isEmpty ? "." : existing
        if fm.fileExists(atPath: above, isDirectory: &isDirectory) && !isDirectory.boolValue {
            throw RegistryError(.unavailable, "\(cannot): \(above) is a file, not a folder")
        }
        if !fm.isWritableFile(atPath: above) {
            throw RegistryError(.unavailable, "\(cannot): \(above) is not writable")
        }
        do {
            try fm.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            let underlying = (error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError
            throw RegistryError(.unavailable, "\(cannot): \((underlying ?? error as NSError).localizedDescription)")
        }
    }

    /// Runs `body` again while it fails with SQLITE_BUSY, for up to `milliseconds`.
    ///
    /// Switching a new file to WAL takes an exclusive lock, and SQLite answers BUSY at once,
    /// without calling the busy handler, when two connections opening the same new file
    /// race for it (seen as "database is locked" from concurrent first connections).
    private func retryingWhileBusy(for milliseconds: Int32, _ body: () throws -> Void) throws {
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(max(milliseconds, 0)) * 1_000_000
        while true {
            do {
                return try body()
            } catch let failure as SQLFailure where failure.kind == .busy && DispatchTime.now().uptimeNanoseconds < deadline {
                usleep(5_000)
            }
        }
    }

    var isUsable: Bool { db != nil }

    func close() {
        for statement in statements.values { sqlite3_finalize(statement) }
        statements.removeAll()
        if let db { sqlite3_close_v2(db) }
        db = nil
    }

    func execute(_ sql: String, _ binds: [SQLValue]) throws -> SQLResult {
        guard let db else { throw SQLFailure(kind: .connectionLost, message: "the database was closed") }
        let statement = try bound(sql, binds)
        defer {
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
        }
        var out = SQLResult()
        let columns = Int(sqlite3_column_count(statement))
        while true {
            let rc = sqlite3_step(statement)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else { throw failure(rc) }
            var values = [SQLValue]()
            values.reserveCapacity(columns)
            for c in 0..<Int32(columns) {
                switch sqlite3_column_type(statement, c) {
                case SQLITE_INTEGER: values.append(.integer(sqlite3_column_int64(statement, c)))
                case SQLITE_FLOAT: values.append(.real(sqlite3_column_double(statement, c)))
                case SQLITE_TEXT:
                    let count = Int(sqlite3_column_bytes(statement, c))
                    let text = sqlite3_column_text(statement, c)
                    values.append(.text(String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)))
                case SQLITE_BLOB:
                    let count = Int(sqlite3_column_bytes(statement, c))
                    let bytes = sqlite3_column_blob(statement, c)
                    values.append(.blob(count == 0 ? [] : Array(UnsafeRawBufferPointer(start: bytes, count: count))))
                default: values.append(.null)
                }
            }
            out.rows.append(SQLRow(values: values))
        }
        if sqlite3_stmt_readonly(statement) == 0 { out.affectedRows = Int(sqlite3_changes(db)) }
        return out
    }

    func forEachRawRow(_ sql: String, _ binds: [SQLValue], _ body: (RawRow) throws -> Void) throws {
        let statement = try bound(sql, binds)
        defer {
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
        }
        while true {
            let rc = sqlite3_step(statement)
            if rc == SQLITE_DONE { return }
            guard rc == SQLITE_ROW else { throw failure(rc) }
            try body(SQLiteRawRow(statement: statement))
        }
    }

    /// The cached statement for `sql` with `binds` bound, ready to step.
    private func bound(_ sql: String, _ binds: [SQLValue]) throws -> OpaquePointer {
        guard db != nil else { throw SQLFailure(kind: .connectionLost, message: "the database was closed") }
        let statement = try prepared(sql)
        for (offset, bind) in binds.enumerated() {
            let i = Int32(offset + 1)
            let rc: Int32
            switch bind {
            case .null: rc = sqlite3_bind_null(statement, i)
            case .integer(let v): rc = sqlite3_bind_int64(statement, i, v)
            case .real(let v): rc = sqlite3_bind_double(statement, i, v)
            case .bool(let b): rc = sqlite3_bind_int64(statement, i, b ? 1 : 0)
            case .text(let s): rc = sqlite3_bind_text(statement, i, s, -1, Self.transient)
            case .blob(let bytes):
                if bytes.isEmpty {
                    rc = sqlite3_bind_zeroblob(statement, i, 0)
                } else {
                    rc = bytes.withUnsafeBytes { sqlite3_bind_blob(statement, i, $0.baseAddress, Int32($0.count), Self.transient) }
                }
            case .postgresArray:
                sqlite3_clear_bindings(statement)
                throw SQLFailure(kind: .other, message: "SQLite has no array parameters; the registry sent a PostgreSQL-only statement")
            }
            guard rc == SQLITE_OK else {
                sqlite3_clear_bindings(statement)
                throw failure(rc)
            }
        }
        return statement
    }

    func executeScript(_ sql: String) throws {
        guard let db else { throw SQLFailure(kind: .connectionLost, message: "the database was closed") }
        let rc = sqlite3_exec(db, sql, nil, nil, nil)
        guard rc == SQLITE_OK else { throw failure(rc) }
    }

    private func prepared(_ sql: String) throws -> OpaquePointer {
        if let statement = statements[sql] { return statement }
        // A bounded cache: the registry issues few distinct statements, but multi-row
        // INSERTs vary with the batch size.
        if statements.count >= 64 {
            for statement in statements.values { sqlite3_finalize(statement) }
            statements.removeAll()
        }
        var statement: OpaquePointer?
        let rc = sqlite3_prepare_v2(db, Self.positionalPlaceholders(sql), -1, &statement, nil)
        guard rc == SQLITE_OK, let statement else { throw failure(rc) }
        statements[sql] = statement
        return statement
    }

    /// Rewrites PostgreSQL's `$N` placeholders as SQLite's equivalent `?N`.
    static func positionalPlaceholders(_ sql: String) -> String {
        var bytes = Array(sql.utf8)
        for i in bytes.indices where bytes[i] == UInt8(ascii: "$") && i + 1 < bytes.count
            && (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[i + 1]) {
            bytes[i] = UInt8(ascii: "?")
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private func failure(_ rc: Int32) -> SQLFailure {
        let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "SQLite error \(rc)"
        let kind: SQLFailure.Kind
        // Extended result codes are C macros Swift cannot import: SQLITE_CONSTRAINT | (n << 8).
        switch rc {
        case SQLITE_CONSTRAINT | (8 << 8), SQLITE_CONSTRAINT | (6 << 8): kind = .uniqueViolation
        case SQLITE_CONSTRAINT | (3 << 8): kind = .foreignKeyViolation
        case SQLITE_CONSTRAINT | (1 << 8): kind = .checkViolation
        default: kind = (rc & 0xff == SQLITE_BUSY || rc & 0xff == SQLITE_LOCKED) ? .busy : .other
        }
        return SQLFailure(kind: kind, message: message)
    }
}

private struct SQLiteRawRow: RawRow {
    let statement: OpaquePointer

    func bytes(_ column: Int) -> UnsafeRawBufferPointer {
        let count = Int(sqlite3_column_bytes(statement, Int32(column)))
        return UnsafeRawBufferPointer(start: sqlite3_column_blob(statement, Int32(column)), count: count)
    }

    func int64(_ column: Int) -> Int64 { sqlite3_column_int64(statement, Int32(column)) }
}
