import Foundation

public enum WorkerKind: String, Sendable, CaseIterable {
    case simulator, trainer, validator, coordinator
}

/// A process of the fleet, as it last reported itself.
public struct Worker: Sendable, Equatable {
    public var id: String
    public var kind: WorkerKind
    public var host: String
    public var startedAt: Date
    public var lastHeartbeat: Date
}

extension Registry {
    /// Records (or re-records, after a restart) worker `id`.
    @discardableResult
    public func registerWorker(id: String, kind: WorkerKind, host: String) throws -> Worker {
        guard !id.isEmpty else { throw RegistryError(.invalidInput, "registering a worker: its id is empty") }
        return try write("registering worker \(id)") { c in
            let now = c.dialect.now
            try c.run("""
                INSERT INTO workers (id, kind, host) VALUES ($1, $2, $3)
                ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, host = excluded.host, started_at = \(now), last_heartbeat = \(now)
                """, [.text(id), .text(kind.rawValue), .text(host)])
            return try worker(id: id, c)
        }
    }

    /// Records that worker `id` is alive.
    public func workerHeartbeat(id: String) throws {
        try write("heartbeat of worker \(id)") { c in
            guard try c.run("UPDATE workers SET last_heartbeat = \(c.dialect.now) WHERE id = $1", [.text(id)]) == 1 else {
                throw RegistryError(.invalidInput, "worker \(id) is not registered: call registerWorker first")
            }
        }
    }

    public func workers() throws -> [Worker] {
        try read("listing workers") { c in
            try c.query("\(Self.workerSelect(c.dialect)) ORDER BY id").map(Self.worker)
        }
    }

    private func worker(id: String, _ c: SQLConnection) throws -> Worker {
        try Self.worker(try c.query("\(Self.workerSelect(c.dialect)) WHERE id = $1", [.text(id)])[0])
    }

    static func workerSelect(_ d: SQLDialect) -> String {
        "SELECT id, kind, host, \(d.epoch("started_at")), \(d.epoch("last_heartbeat")) FROM workers"
    }

    static func worker(_ row: SQLRow) throws -> Worker {
        let kindText = try row.text(1)
        guard let kind = WorkerKind(rawValue: kindText) else {
            throw RegistryError(.schema, "worker \(try row.text(0)) has an unknown kind `\(kindText)`")
        }
        return Worker(id: try row.text(0), kind: kind, host: try row.text(2),
               startedAt: Date(epochSeconds: try row.double(3)), lastHeartbeat: Date(epochSeconds: try row.double(4)))
    }
}
