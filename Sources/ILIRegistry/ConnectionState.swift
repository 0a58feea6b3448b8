/// Where a `Registry`'s connection is in its life.
///
///     disconnected ──connect──▶ connected ──server went away──▶ lost ──connect──▶ connected
///          ▲                        │                            │
///          └────────close()─────────┴────────────close()─────────┘
///
/// Every call from `disconnected` or `lost` connects first (and checks the schema), so a
/// database that comes back is used again without the caller doing anything; a failed
/// connect leaves the state where it was and reports `.unavailable`.
public enum ConnectionState: Sendable, Equatable {
    /// Never connected, or closed by `close()`.
    case disconnected
    case connected
    /// The server closed the connection or stopped answering; `reason` is libpq's or
    /// SQLite's message.
    case lost(reason: String)
}

/// The connection itself, alongside its state; `Registry` keeps one behind its lock.
enum ConnectionSlot {
    case disconnected
    case connected(SQLConnection)
    case lost(reason: String)

    var state: ConnectionState {
        switch self {
        case .disconnected: return .disconnected
        case .connected: return .connected
        case .lost(let reason): return .lost(reason: reason)
        }
    }

    /// Closes the connection, if any, and moves to `next`.
    mutating func leave(to next: ConnectionSlot) {
        if case .connected(let connection) = self { connection.close() }
        self = next
    }
}
