/// One open connection to a back end. Not thread-safe: the `Registry` that owns it holds
/// its lock around every use. All calls block; `Registry` documents how to keep them off
/// Swift's cooperative pool.
protocol SQLConnection: AnyObject {
    var dialect: SQLDialect { get }

    /// Runs one statement with `$1, $2, …` placeholders bound to `binds` in order.
    func execute(_ sql: String, _ binds: [SQLValue]) throws -> SQLResult

    /// Runs a query and hands `body` each row's raw column bytes, valid only during the
    /// call: bulk reads decode θ and x straight into their output arrays instead of
    /// building a `SQLValue` per cell.
    func forEachRawRow(_ sql: String, _ binds: [SQLValue], _ body: (RawRow) throws -> Void) throws

    /// Runs a parameterless script of several statements (migrations only).
    func executeScript(_ sql: String) throws

    /// Whether a later statement could still succeed; false once the server went away.
    var isUsable: Bool { get }

    /// The most bind parameters one statement may carry on this back end.
    var maxBindParameters: Int { get }

    func close()
}

extension SQLConnection {
    func query(_ sql: String, _ binds: [SQLValue] = []) throws -> [SQLRow] {
        try execute(sql, binds).rows
    }

    @discardableResult
    func run(_ sql: String, _ binds: [SQLValue] = []) throws -> Int {
        try execute(sql, binds).affectedRows
    }
}

/// One result row as bytes: bytea/BLOB columns as stored, integer columns decoded.
protocol RawRow {
    func bytes(_ column: Int) -> UnsafeRawBufferPointer
    func int64(_ column: Int) -> Int64
}

/// The few places where PostgreSQL and SQLite SQL differ, so that the registry's
/// statements are otherwise written once.
struct SQLDialect: Sendable {
    enum Kind: Sendable { case postgres, sqlite }
    let kind: Kind

    static let postgres = SQLDialect(kind: .postgres)
    static let sqlite = SQLDialect(kind: .sqlite)

    /// Starts a transaction that may write. SQLite takes the write lock up front (BEGIN
    /// IMMEDIATE) so that two writers queue on the busy timeout instead of one failing
    /// when it upgrades a read lock.
    var beginWrite: String { kind == .postgres ? "BEGIN" : "BEGIN IMMEDIATE" }
    /// Starts a read-only transaction that sees one snapshot throughout, so a read made of
    /// several statements (a paged training read) is consistent. SQLite's WAL readers
    /// keep the snapshot of their first read.
    var beginRead: String { kind == .postgres ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN DEFERRED" }

    /// The current time in the column representation (timestamptz / REAL seconds).
    var now: String { kind == .postgres ? "now()" : "((julianday('now') - 2440587.5) * 86400.0)" }

    /// A time column read as seconds since 1970.
    func epoch(_ column: String) -> String {
        kind == .postgres ? "extract(epoch from \(column))::float8" : column
    }

    /// The time `seconds` (a bind placeholder) ago.
    func secondsAgo(_ placeholder: String) -> String {
        kind == .postgres ? "(now() - make_interval(secs => \(placeholder)::float8))" : "(\(now) - \(placeholder))"
    }

    /// Row-lock clauses; SQLite has none because BEGIN IMMEDIATE already serialises writers.
    var forUpdate: String { kind == .postgres ? " FOR UPDATE" : "" }
    var forShare: String { kind == .postgres ? " FOR SHARE" : "" }
    var forUpdateSkipLocked: String { kind == .postgres ? " FOR UPDATE SKIP LOCKED" : "" }
}
