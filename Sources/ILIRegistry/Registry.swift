import Dispatch
import Foundation

/// The registry: experiments, rounds, simulations, model versions, posteriors, their
/// validation and training jobs, over PostgreSQL or SQLite chosen by URL.
///
/// Every method blocks on the database. Call them from your own threads, or through
/// `perform(_:)`, which runs them on this registry's dedicated queue, never on Swift's
/// cooperative pool, where a blocking libpq call would stall unrelated tasks. One
/// `Registry` holds one connection and serialises its callers; open one per thread that
/// needs to work in parallel (each is cheap: one connection).
///
/// Each method is one transaction. When the connection breaks (the server restarted, an
/// administrator ended the session) the registry reconnects and, if the transaction had
/// not reached COMMIT, runs it once more; a database that is down gives `.unavailable`,
/// and the same `Registry` works again once the database is back.
public final class Registry: @unchecked Sendable {
    /// Where this registry lives; `url.redacted` is safe to print.
    public let url: RegistryURL

    // `slot`, `schemaVersionValue` and `faultHook` are guarded by `lock`.
    private let lock = NSLock()
    private var slot = ConnectionSlot.disconnected
    private var schemaVersionValue = 0
    /// Test hook: called after each chunk of an append is inserted, inside its transaction,
    /// to simulate a crash between chunks.
    var faultAfterInsertChunk: ((Int) throws -> Void)? {
        get { lock.withLock { faultHook } }
        set { lock.withLock { faultHook = newValue } }
    }
    private var faultHook: ((Int) throws -> Void)?
    private var busyNanoseconds: UInt64 = 0

    /// Seconds this registry has spent in transactions (connecting included), for callers
    /// that report what recording costs them.
    public var busySeconds: Double { lock.withLock { Double(busyNanoseconds) / 1e9 } }

    /// Where `perform(_:)` runs its bodies (internal so that tests can tell they ran here).
    let queue: DispatchQueue

    /// Whether a SQLite file may be created when missing.
    private let createIfMissing: Bool

    /// Opens the registry at `url` (`postgresql://…`, `postgres://…` or `sqlite:PATH`),
    /// creating or migrating its schema.
    ///
    /// With `createIfMissing` (the default) a SQLite file that does not exist is created;
    /// without, a missing file is an `.unavailable` error naming the path, so that a
    /// mistyped path read by a listing does not leave an empty database behind. With
    /// `createFolders` the missing folders above a new file are created too (else its
    /// folder must exist), and one that cannot be made is named with the reason.
    /// PostgreSQL databases are never created.
    public init(url: String, createIfMissing: Bool = true, createFolders: Bool = false) throws {
        self.url = try RegistryURL(url)
        self.createIfMissing = createIfMissing
        queue = DispatchQueue(label: "ili.registry")
        if case .sqlite(let path) = self.url {
            try SQLiteConnection.prepareFile(at: path, create: createIfMissing, createFolders: createIfMissing && createFolders)
        }
        try lock.withLock { _ = try connected() }
    }

    deinit { slot.leave(to: .disconnected) }

    /// Whether the registry is connected, never was (or was closed), or lost its connection.
    public var connectionState: ConnectionState { lock.withLock { slot.state } }

    /// The schema version the database is at after migration.
    public var schemaVersion: Int { lock.withLock { schemaVersionValue } }

    /// Closes the connection; a later call opens a new one.
    public func close() {
        lock.withLock { slot.leave(to: .disconnected) }
    }

    /// Runs `body` on this registry's own queue and resumes the caller with its result,
    /// so that async code never blocks a cooperative thread on the database.
    public func perform<T: Sendable>(_ body: @escaping @Sendable (Registry) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body(self) }) }
        }
    }

    /// The open connection, opened (and migrated) if there is none. Caller holds `lock`.
    private func connected() throws -> SQLConnection {
        if case .connected(let connection) = slot {
            if connection.isUsable { return connection }
            slot.leave(to: .lost(reason: "the server closed the connection"))
        }
        let fresh: SQLConnection
        switch url {
        case .postgres(let text): fresh = try PostgresConnection(url: text, redactedURL: url.redacted)
        case .sqlite(let path): fresh = try SQLiteConnection(path: path, create: createIfMissing)
        }
        do {
            schemaVersionValue = try Migration.migrate(fresh, redactedURL: url.redacted)
        } catch let failure as SQLFailure {
            fresh.close()
            if failure.kind == .connectionLost {
                throw RegistryError(.unavailable, "the registry at \(url.redacted) closed the connection while checking its schema: \(failure.message)")
            }
            throw Registry.mapped(failure, "checking the schema of \(url.redacted)")
        } catch {
            fresh.close()
            throw error
        }
        slot = .connected(fresh)
        return fresh
    }

    /// Runs `body` as one transaction (`what` names it in errors): committed if it
    /// returns, rolled back if it throws, retried once on a fresh connection if the
    /// connection broke before COMMIT.
    func transaction<T>(write: Bool, _ what: @autoclosure () -> String, _ body: (SQLConnection) throws -> T) throws -> T {
        lock.lock()
        let started = DispatchTime.now().uptimeNanoseconds
        defer {
            busyNanoseconds += DispatchTime.now().uptimeNanoseconds - started
            lock.unlock()
        }
        var attempt = 0
        var conflicts = 0
        while true {
            attempt += 1
            let c = try connected()
            var committing = false
            do {
                try c.run(write ? c.dialect.beginWrite : c.dialect.beginRead)
                let value = try body(c)
                committing = true
                try c.run("COMMIT")
                return value
            } catch let failure as SQLFailure where failure.kind == .connectionLost || !c.isUsable {
                slot.leave(to: .lost(reason: failure.message))
                if committing {
                    throw RegistryError(.commitOutcomeUnknown, """
                        the connection to \(url.redacted) broke while committing \(what()): the change may or may \
                        not be stored; check before repeating it (appending simulations is safe to repeat)
                        """)
                }
                if attempt >= 2 {
                    throw RegistryError(.connectionLost, """
                        lost the connection to the registry at \(url.redacted) while \(what()), and again after \
                        reconnecting: \(failure.message)
                        """)
                }
            } catch let failure as SQLFailure where failure.kind == .transient && conflicts < 8 {
                // Two appenders inserting overlapping task ids in different orders can
                // deadlock; PostgreSQL aborts one, and every registry transaction is safe
                // to run again from the start.
                _ = try? c.run("ROLLBACK")
                conflicts += 1
                attempt -= 1
                Thread.sleep(forTimeInterval: Double.random(in: 0.005...0.02) * Double(conflicts))
            } catch {
                if c.isUsable { _ = try? c.run("ROLLBACK") }
                throw Registry.mapped(error, what())
            }
        }
    }

    @discardableResult
    func write<T>(_ what: @autoclosure () -> String, _ body: (SQLConnection) throws -> T) throws -> T {
        try transaction(write: true, what(), body)
    }

    func read<T>(_ what: @autoclosure () -> String, _ body: (SQLConnection) throws -> T) throws -> T {
        try transaction(write: false, what(), body)
    }

    /// The fault hook, read while the caller already holds `lock` (inside a transaction).
    var faultHookWhileLocked: ((Int) throws -> Void)? { faultHook }

    static func mapped(_ error: Error, _ what: String) -> Error {
        guard let failure = error as? SQLFailure else { return error }
        switch failure.kind {
        case .busy:
            return RegistryError(.busy, "the SQLite registry stayed locked by another writer while \(what): \(failure.message); retry, or use PostgreSQL for many concurrent writers")
        case .connectionLost:
            return RegistryError(.connectionLost, "lost the connection to the registry while \(what): \(failure.message)")
        default:
            return RegistryError(.database, "\(what) failed: \(failure.message)")
        }
    }
}
