import Foundation

/// A training job's life: queued → running → done | failed. A running job whose
/// heartbeat went stale is claimable again (running → running under a new worker).
public enum TrainingJobStatus: String, Sendable, CaseIterable {
    case queued, running, done, failed
}

/// Training one ensemble member for one round.
public struct TrainingJob: Sendable, Equatable {
    public var id: TrainingJobID
    public var round: RoundID
    public var member: Int
    /// The training configuration (JSON).
    public var config: String
    public var status: TrainingJobStatus
    public var claimedBy: String?
    public var heartbeatAt: Date?
    /// How many times a worker claimed it (more than 1 after a reclaim).
    public var attempts: Int
    public var modelVersion: ModelVersionID?
    public var failure: String?
    public var createdAt: Date
}

extension Registry {
    /// Queues training member `member` of round `round`. Queuing the same member twice
    /// returns the existing job, so a coordinator that retries does not double the work.
    public func enqueueTrainingJob(round: RoundID, member: Int, config: String = "{}") throws -> TrainingJob {
        guard member >= 0 else { throw RegistryError(.invalidInput, "round \(round): a training job's member must be ≥ 0, not \(member)") }
        let config = try JSONText.validated(config, "round \(round), member \(member): training config")
        return try write("queuing training of member \(member) for round \(round)") { c in
            _ = try self.round(id: round, c)
            try c.run("INSERT INTO training_jobs (round_id, member, config) VALUES ($1, $2, $3) ON CONFLICT (round_id, member) DO NOTHING",
                      [.id(round), .int(member), .text(config)])
            let row = try c.query("\(Self.jobSelect(c.dialect)) WHERE round_id = $1 AND member = $2", [.id(round), .int(member)])[0]
            return try Self.job(row)
        }
    }

    /// Claims the oldest queued job, or a running one whose heartbeat is older than
    /// `staleAfter` seconds (its worker is presumed dead), for `worker`; nil when none is
    /// free. Two workers never get the same job: PostgreSQL skips rows another claimer has
    /// locked (FOR UPDATE SKIP LOCKED), SQLite runs claims one at a time (BEGIN IMMEDIATE).
    /// With `round`, only that round's jobs are considered (a coordinator training its own
    /// round in-process).
    public func claimTrainingJob(worker: String, round: RoundID? = nil, staleAfter: TimeInterval = 120) throws -> TrainingJob? {
        guard !worker.isEmpty else { throw RegistryError(.invalidInput, "claiming a training job: the worker id is empty") }
        return try write("claiming a training job for \(worker)") { c in
            let d = c.dialect
            let rows = try c.query("""
                UPDATE training_jobs SET status = 'running', claimed_by = $1, heartbeat_at = \(d.now), attempts = attempts + 1
                WHERE id = (
                    SELECT id FROM training_jobs
                    WHERE (status = 'queued' OR (status = 'running' AND heartbeat_at < \(d.secondsAgo("$2"))))\(round == nil ? "" : " AND round_id = $3")
                    ORDER BY id LIMIT 1\(d.forUpdateSkipLocked))
                RETURNING id
                """, [.text(worker), .real(staleAfter)] + (round.map { [.id($0)] } ?? []))
            guard let row = rows.first else { return nil }
            return try job(id: try row.id(0), c)
        }
    }

    /// Records that `worker` is still training job `id`. Throws `.jobNotHeld` when the
    /// job was reclaimed or finished meanwhile: the worker should drop it.
    public func heartbeatTrainingJob(id: TrainingJobID, worker: String) throws {
        try write("heartbeat of training job \(id)") { c in
            let changed = try c.run("UPDATE training_jobs SET heartbeat_at = \(c.dialect.now) WHERE id = $1 AND claimed_by = $2 AND status = 'running'",
                                    [.id(id), .text(worker)])
            if changed == 0 { throw try notHeld(id, worker, c) }
        }
    }

    /// Marks job `id` done, with the model version it produced.
    @discardableResult
    public func completeTrainingJob(id: TrainingJobID, worker: String, modelVersion: ModelVersionID?) throws -> TrainingJob {
        try finish(id: id, worker: worker, status: .done, modelVersion: modelVersion, failure: nil)
    }

    /// Marks job `id` failed with `reason`.
    @discardableResult
    public func failTrainingJob(id: TrainingJobID, worker: String, reason: String) throws -> TrainingJob {
        try finish(id: id, worker: worker, status: .failed, modelVersion: nil, failure: reason)
    }

    public func trainingJob(id: TrainingJobID) throws -> TrainingJob {
        try read("reading training job \(id)") { c in try job(id: id, c) }
    }

    /// The jobs of round `round`, by member.
    public func trainingJobs(round: RoundID) throws -> [TrainingJob] {
        try read("listing the training jobs of round \(round)") { c in
            try c.query("\(Self.jobSelect(c.dialect)) WHERE round_id = $1 ORDER BY member", [.id(round)]).map(Self.job)
        }
    }

    private func finish(id: TrainingJobID, worker: String, status: TrainingJobStatus, modelVersion: ModelVersionID?, failure: String?) throws -> TrainingJob {
        try write("finishing training job \(id)") { c in
            if let modelVersion { _ = try self.modelVersion(id: modelVersion, c) }
            let changed = try c.run("""
                UPDATE training_jobs SET status = $3, model_version_id = $4, failure = $5, heartbeat_at = \(c.dialect.now)
                WHERE id = $1 AND claimed_by = $2 AND status = 'running'
                """, [.id(id), .text(worker), .text(status.rawValue), .optionalId(modelVersion), .optionalText(failure)])
            if changed == 0 { throw try notHeld(id, worker, c) }
            return try job(id: id, c)
        }
    }

    func notHeld(_ id: TrainingJobID, _ worker: String, _ c: SQLConnection) throws -> RegistryError {
        let current = try job(id: id, c)
        if current.status == .running {
            return RegistryError(.jobNotHeld, "training job \(id) is now held by \(current.claimedBy ?? "?"), not \(worker) (its heartbeat went stale and it was reclaimed): stop working on it")
        }
        return RegistryError(.jobNotHeld, "training job \(id) is \(current.status.rawValue), not running under \(worker): stop working on it")
    }

    func job(id: TrainingJobID, _ c: SQLConnection) throws -> TrainingJob {
        guard let row = try c.query("\(Self.jobSelect(c.dialect)) WHERE id = $1", [.id(id)]).first else {
            throw RegistryError(.unknownTrainingJob, "there is no training job \(id)")
        }
        return try Self.job(row)
    }

    static func jobSelect(_ d: SQLDialect) -> String {
        """
        SELECT id, round_id, member, config, status, claimed_by, \(d.epoch("heartbeat_at")), attempts, model_version_id, failure,
            \(d.epoch("created_at"))
        FROM training_jobs
        """
    }

    static func job(_ row: SQLRow) throws -> TrainingJob {
        let statusText = try row.text(4)
        guard let status = TrainingJobStatus(rawValue: statusText) else {
            throw RegistryError(.schema, "training job \(try row.int64(0)) has an unknown status `\(statusText)`")
        }
        return TrainingJob(id: try row.id(0), round: try row.id(1), member: try row.int(2), config: try row.text(3), status: status,
                           claimedBy: try row.optionalText(5), heartbeatAt: try row.optionalDouble(6).map(Date.init(epochSeconds:)),
                           attempts: try row.int(7), modelVersion: try row.optionalId(8), failure: try row.optionalText(9),
                           createdAt: Date(epochSeconds: try row.double(10)))
    }
}

extension Registry {
    /// Returns round `round`'s running jobs to the queue: those `worker` holds (a trainer
    /// that stops without finishing them), or with `worker` nil all of them (a coordinator
    /// that holds its experiment alone, resuming after a crash: the jobs its dead
    /// predecessor held would otherwise wait for their heartbeats to go stale).
    @discardableResult
    public func releaseTrainingJobs(round: RoundID, heldBy worker: String?) throws -> Int {
        try write("releasing the training jobs of round \(round)") { c in
            try c.run("""
                UPDATE training_jobs SET status = 'queued', claimed_by = NULL, heartbeat_at = NULL
                WHERE round_id = $1 AND status = 'running'\(worker == nil ? "" : " AND claimed_by = $2")
                """, [.id(round)] + (worker.map { [.text($0)] } ?? []))
        }
    }

    /// Registers the model version `spec` that job `id` produced and marks the job done with
    /// it, in one transaction: a worker that dies in between leaves neither, so the retried
    /// job does not leave an orphan model version behind.
    @discardableResult
    public func finishTrainingJob(id: TrainingJobID, worker: String, registering spec: ModelVersionSpec) throws -> (TrainingJob, ModelVersion) {
        let prepared = try ModelVersionSpec.Prepared(spec)
        return try write("finishing training job \(id) with a model version") { c in
            let version = try insertModelVersion(prepared, c)
            let changed = try c.run("""
                UPDATE training_jobs SET status = 'done', model_version_id = $3, failure = NULL, heartbeat_at = \(c.dialect.now)
                WHERE id = $1 AND claimed_by = $2 AND status = 'running'
                """, [.id(id), .text(worker), .id(version.id)])
            if changed == 0 { throw try notHeld(id, worker, c) }
            return (try job(id: id, c), version)
        }
    }
}
