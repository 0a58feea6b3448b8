import Foundation

public struct Round: Sendable, Equatable {
    public var id: RoundID
    public var experimentId: ExperimentID
    /// 0 for the first round of an experiment, then 1, 2, …
    public var index: Int
    /// How θ was proposed (e.g. "prior", "truncated", "active"); free text.
    public var strategy: String
    /// The proposal's description (JSON).
    public var proposal: String
    /// How many simulations the round asks for.
    public var targetCount: Int
    public var status: RoundStatus
    /// Why the round failed, when it did.
    public var failure: String?
    /// Training simulations stored, valid and not.
    public var validSimulations: Int
    public var invalidSimulations: Int
    /// Held-out test simulations stored, valid and not.
    public var validTestSimulations: Int
    public var invalidTestSimulations: Int
    public var createdAt: Date
    public var updatedAt: Date
    public var finishedAt: Date?
}

extension Registry {
    /// Opens the next round of `experiment` (index one past the last), in state planned.
    public func openRound(experiment: String, strategy: String, proposal: String = "{}", targetCount: Int) throws -> Round {
        guard targetCount >= 0 else {
            throw RegistryError(.invalidInput, "experiment \(experiment): a round's targetCount cannot be negative (\(targetCount))")
        }
        let proposal = try JSONText.validated(proposal, "experiment \(experiment): round proposal")
        return try write("opening a round of experiment \(experiment)") { c in
            // Locking the experiment row makes concurrent openers take turns for the index.
            let exp = try self.experiment(named: experiment, c, lock: true)
            let rows = try c.query("""
                INSERT INTO rounds (experiment_id, round_index, strategy, proposal, target_count)
                VALUES ($1, (SELECT coalesce(max(round_index) + 1, 0) FROM rounds WHERE experiment_id = $1), $2, $3, $4)
                RETURNING id
                """, [.id(exp.id), .text(strategy), .text(proposal), .int(targetCount)])
            return try round(id: try rows[0].id(0), c)
        }
    }

    /// Moves a round to `status`, if the state machine allows it from where the round is.
    /// `failure` (why) is stored when the target is `.failed`.
    @discardableResult
    public func advanceRound(id: RoundID, to status: RoundStatus, failure: String? = nil) throws -> Round {
        try write("moving round \(id) to \(status.rawValue)") { c in
            let current = try round(id: id, c)
            guard current.status.canAdvance(to: status) else {
                let allowed = [current.status.next, current.status.isFinished ? nil : .failed].compactMap { $0?.rawValue }
                throw RegistryError(.invalidTransition, """
                    round \(current.index) (id \(id)) is \(current.status.rawValue) and cannot become \(status.rawValue); \
                    \(allowed.isEmpty ? "it is finished" : "it can become " + allowed.joined(separator: " or "))
                    """)
            }
            let d = c.dialect
            // The status in the WHERE clause makes a concurrent change lose cleanly.
            let changed = try c.run("""
                UPDATE rounds SET status = $2, failure = $3, updated_at = \(d.now),
                    finished_at = CASE WHEN $2 IN ('done', 'failed') THEN \(d.now) ELSE NULL END
                WHERE id = $1 AND status = $4
                """, [.id(id), .text(status.rawValue), status == .failed ? .text(failure ?? "no reason given") : .null,
                      .text(current.status.rawValue)])
            guard changed == 1 else {
                throw RegistryError(.invalidTransition, "round \(id) changed state while it was being moved to \(status.rawValue); read it again and retry")
            }
            return try round(id: id, c)
        }
    }

    public func round(id: RoundID) throws -> Round {
        try read("reading round \(id)") { c in try round(id: id, c) }
    }

    public func round(experiment: String, index: Int) throws -> Round {
        try read("reading round \(index) of \(experiment)") { c in
            let exp = try self.experiment(named: experiment, c)
            guard let row = try c.query("\(Self.roundSelect(c.dialect)) WHERE r.experiment_id = $1 AND r.round_index = $2",
                                        [.id(exp.id), .int(index)]).first else {
                throw RegistryError(.unknownRound, "experiment \(experiment) has no round \(index): list them with `ili registry rounds --experiment \(experiment)`")
            }
            return try Self.round(row)
        }
    }

    /// The rounds of `experiment` in index order.
    public func rounds(experiment: String) throws -> [Round] {
        try read("listing the rounds of \(experiment)") { c in
            let exp = try self.experiment(named: experiment, c)
            return try c.query("\(Self.roundSelect(c.dialect)) WHERE r.experiment_id = $1 ORDER BY r.round_index", [.id(exp.id)]).map(Self.round)
        }
    }

    func round(id: RoundID, _ c: SQLConnection) throws -> Round {
        guard let row = try c.query("\(Self.roundSelect(c.dialect)) WHERE r.id = $1", [.id(id)]).first else {
            throw RegistryError(.unknownRound, "there is no round with id \(id): list an experiment's rounds with `ili registry rounds --experiment NAME`")
        }
        return try Self.round(row)
    }

    static func roundSelect(_ d: SQLDialect) -> String {
        """
        SELECT r.id, r.experiment_id, r.round_index, r.strategy, r.proposal, r.target_count, r.status, r.failure,
            r.valid_train, r.invalid_train,
            \(d.epoch("r.created_at")), \(d.epoch("r.updated_at")), \(d.epoch("r.finished_at")),
            r.valid_test, r.invalid_test
        FROM rounds r
        """
    }

    static func round(_ row: SQLRow) throws -> Round {
        let statusText = try row.text(6)
        guard let status = RoundStatus(rawValue: statusText) else {
            throw RegistryError(.schema, "round \(try row.int64(0)) has an unknown status `\(statusText)`")
        }
        return Round(id: try row.id(0), experimentId: try row.id(1), index: try row.int(2), strategy: try row.text(3),
                     proposal: try row.text(4), targetCount: try row.int(5), status: status, failure: try row.optionalText(7),
                     validSimulations: try row.int(8), invalidSimulations: try row.int(9),
                     validTestSimulations: try row.int(13), invalidTestSimulations: try row.int(14),
                     createdAt: Date(epochSeconds: try row.double(10)), updatedAt: Date(epochSeconds: try row.double(11)),
                     finishedAt: try row.optionalDouble(12).map(Date.init(epochSeconds:)))
    }
}
