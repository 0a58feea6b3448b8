import CLibPQ
import CSQLite

/// Versions of the database client libraries the registry linked.
public enum RegistryBackends {
    /// libpq's version as `major.minor` (e.g. `"15.18"`).
    public static var libpqVersion: String {
        let v = Int(PQlibVersion())
        return v >= 100_000 ? "\(v / 10_000).\(v % 10_000)" : "\(v / 10_000).\(v / 100 % 100).\(v % 100)"
    }

    /// SQLite's version string (e.g. `"3.40.1"`).
    public static var sqliteVersion: String { String(cString: sqlite3_libversion()) }

    /// Whether this SQLite was built thread-safe, which the registry requires.
    public static var sqliteIsThreadSafe: Bool { sqlite3_threadsafe() != 0 }
}
