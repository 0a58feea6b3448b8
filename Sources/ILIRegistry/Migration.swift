/// One versioned schema change, mirrored from `schemas/<back end>/NNN_name.sql`.
struct Migration: Sendable {
    let version: Int
    let name: String
    let sql: String

    static func all(for dialect: SQLDialect) -> [Migration] {
        dialect.kind == .postgres ? postgres : sqlite
    }

    /// The newest schema this binary knows.
    static func latestVersion(for dialect: SQLDialect) -> Int { all(for: dialect).map(\.version).max() ?? 0 }

    /// An arbitrary constant naming the registry's migration lock among advisory locks.
    static let advisoryLockKey: Int64 = 0x11_1EE6

    /// Brings the database to the newest schema and returns its version.
    ///
    /// Every migration missing from `ili_schema_migrations` is applied, in order, inside
    /// one transaction. Concurrent first connections serialise on a transaction-scoped
    /// advisory lock (PostgreSQL) or on the write lock (SQLite's BEGIN IMMEDIATE), so the
    /// second one finds the work done. A database migrated by a newer ili is refused
    /// rather than used with a schema this binary does not understand.
    static func migrate(_ connection: SQLConnection, redactedURL: String) throws -> Int {
        try migrate(connection, redactedURL: redactedURL, through: latestVersion(for: connection.dialect))
    }

    /// As `migrate`, stopping at schema version `target` (tests build older registries with it).
    static func migrate(_ connection: SQLConnection, redactedURL: String, through target: Int) throws -> Int {
        let d = connection.dialect
        // The common case, an up-to-date schema, needs neither the lock nor write access,
        // so a read-only database user can open the registry too.
        if let current = try appliedVersion(connection) {
            if current > latestVersion(for: d) { throw tooNew(current, d, redactedURL) }
            if current >= target { return current }
        }
        try connection.run(d.beginWrite)
        do {
            if d.kind == .postgres {
                try connection.run("SELECT pg_advisory_xact_lock($1)", [.integer(advisoryLockKey)])
            }
            try connection.run("""
                CREATE TABLE IF NOT EXISTS ili_schema_migrations (
                    version integer PRIMARY KEY,
                    name text NOT NULL,
                    applied_at \(d.kind == .postgres ? "timestamptz" : "REAL") NOT NULL DEFAULT \(d.kind == .postgres ? "now()" : "(\(d.now))")
                )
                """)
            let applied = Set(try connection.query("SELECT version FROM ili_schema_migrations").map { try $0.int(0) })
            let known = all(for: d)
            if let newest = applied.max(), newest > latestVersion(for: d) { throw tooNew(newest, d, redactedURL) }
            for migration in known.sorted(by: { $0.version < $1.version }) where !applied.contains(migration.version) && migration.version <= target {
                do {
                    try connection.executeScript(migration.sql)
                } catch let failure as SQLFailure {
                    throw RegistryError(.schema, "migration \(migration.version)_\(migration.name) failed on \(redactedURL): \(failure.message)")
                }
                try connection.run("INSERT INTO ili_schema_migrations (version, name) VALUES ($1, $2)",
                                   [.int(migration.version), .text(migration.name)])
            }
            try connection.run("COMMIT")
            return max(applied.max() ?? 0, target)
        } catch {
            if connection.isUsable { _ = try? connection.run("ROLLBACK") }
            throw error
        }
    }

    /// The newest applied migration, or nil when the registry has no migrations table yet.
    private static func appliedVersion(_ connection: SQLConnection) throws -> Int? {
        let exists = connection.dialect.kind == .postgres
            ? "SELECT to_regclass('ili_schema_migrations') IS NOT NULL"
            : "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'ili_schema_migrations'"
        guard try connection.query(exists)[0].bool(0) else { return nil }
        return try connection.query("SELECT coalesce(max(version), 0) FROM ili_schema_migrations")[0].int(0)
    }

    private static func tooNew(_ version: Int, _ d: SQLDialect, _ redactedURL: String) -> RegistryError {
        RegistryError(.schema, """
            the registry at \(redactedURL) has schema version \(version), newer than this ili knows \
            (\(latestVersion(for: d))): upgrade ili before using this registry
            """)
    }
}
