import Foundation

/// What a simulation is for: training the round's estimators, or the round's held-out
/// test set that validation judges the posterior on (never trained on).
public enum SimulationPurpose: String, Sendable, CaseIterable, Codable {
    case training = "train"
    case test
}

/// One simulation as a simulator worker reports it.
public struct SimulationRecord: Sendable, Equatable {
    /// Unique across the registry: the key that makes a retried batch harmless.
    public var taskId: String
    public var theta: [Float]
    /// x flattened row-major; its shape is the experiment's.
    public var x: [Float]
    /// False when the simulator itself gave up; `reason` says why and `x` may be empty.
    public var valid: Bool
    public var reason: String?
    public var purpose: SimulationPurpose

    public init(taskId: String, theta: [Float], x: [Float], valid: Bool = true, reason: String? = nil,
                purpose: SimulationPurpose = .training) {
        self.taskId = taskId
        self.theta = theta
        self.x = x
        self.valid = valid
        self.reason = reason
        self.purpose = purpose
    }
}

/// What an append stored.
public struct AppendResult: Sendable, Equatable {
    /// Records stored by this call.
    public var inserted: Int
    /// Records whose task id was already stored (a retried batch), left untouched.
    public var duplicates: Int
    /// Of the inserted records, those stored as invalid (simulator failure or non-finite x).
    public var invalid: Int

    public init(inserted: Int, duplicates: Int, invalid: Int) {
        self.inserted = inserted
        self.duplicates = duplicates
        self.invalid = invalid
    }
}

/// The valid (θ, x) pairs of a range of rounds, as two dense row-major float arrays.
public struct TrainingData: Sendable {
    public var rounds: ClosedRange<Int>
    public var thetaDimension: Int
    public var xShape: [Int]
    public var count: Int
    /// `count × thetaDimension` floats.
    public var theta: [Float]
    /// `count × xShape.product` floats.
    public var x: [Float]
}

extension Registry {
    /// Appends `batch` to round `roundId` in one transaction: either every new record is
    /// stored or none is.
    ///
    /// Records whose task id is already stored are skipped, so a worker can resend a
    /// batch it is unsure about. The whole batch is refused, with the task id named, when
    /// a θ has the wrong width or a non-finite value (the proposal is broken), when an x
    /// has the wrong size, or when the round is not `simulating`. A finite θ whose x has
    /// NaN or ±∞ is stored as invalid with the reason, and training never reads it.
    @discardableResult
    public func appendSimulations(round roundId: RoundID, _ batch: [SimulationRecord], worker: String) throws -> AppendResult {
        guard !worker.isEmpty else { throw RegistryError(.invalidInput, "appending to round \(roundId): the worker id is empty") }
        guard !batch.isEmpty else { return AppendResult(inserted: 0, duplicates: 0, invalid: 0) }
        return try write("appending \(batch.count) simulations to round \(roundId)") { c in
            let d = c.dialect
            // The round's row is held until COMMIT: its status cannot change under the append,
            // and its counters (moved once the chunks below are in) make appends to one round
            // take turns rather than deadlock over the row.
            let rows = try c.query("""
                SELECT r.status, r.round_index, e.name, e.theta_dim, e.x_shape FROM rounds r
                JOIN experiments e ON e.id = r.experiment_id WHERE r.id = $1\(d.kind == .postgres ? " FOR NO KEY UPDATE OF r" : "")
                """, [.id(roundId)])
            guard let row = rows.first else {
                throw RegistryError(.unknownRound, "cannot append simulations: there is no round with id \(roundId)")
            }
            let status = try row.text(0), index = try row.int(1), experiment = try row.text(2)
            let thetaDim = try row.int(3), xShapeText = try row.text(4)
            let xCount = (FloatArrayCoding.shape(xShapeText) ?? []).reduce(1, *)
            guard status == RoundStatus.simulating.rawValue else {
                throw RegistryError(.invalidTransition, """
                    round \(index) of experiment \(experiment) is \(status), not simulating: simulations are accepted \
                    only while a round is simulating (advance it from planned first; a finished round takes no more)
                    """)
            }
            let encoded = try Self.encode(batch, experiment: experiment, thetaDim: thetaDim, xCount: xCount, xShapeText: xShapeText)

            var counts = InsertedCounts()
            var chunkIndex = 0
            var start = 0
            let rowsPerStatement = Self.rowsPerInsert(c)
            while start < encoded.count {
                let end = min(start + rowsPerStatement, encoded.count)
                counts.add(try Self.insert(encoded[start..<end], round: roundId, worker: worker, thetaDim: thetaDim, c))
                if end == encoded.count { try Self.bumpCounters(round: roundId, by: counts, c) }
                try faultHookWhileLocked?(chunkIndex)
                chunkIndex += 1
                start = end
            }
            return AppendResult(inserted: counts.inserted, duplicates: batch.count - counts.inserted, invalid: counts.invalidTrain + counts.invalidTest)
        }
    }

    private static func rowsPerInsert(_ c: SQLConnection) -> Int {
        c.dialect.kind == .postgres ? 1_000 : max(1, min(1_000, (c.maxBindParameters - 3) / 7))
    }

    /// The rows one append inserted, by purpose and validity (task ids already stored are not counted).
    struct InsertedCounts {
        var validTrain = 0, invalidTrain = 0, validTest = 0, invalidTest = 0
        var inserted: Int { validTrain + invalidTrain + validTest + invalidTest }

        mutating func add(_ other: InsertedCounts) {
            validTrain += other.validTrain
            invalidTrain += other.invalidTrain
            validTest += other.validTest
            invalidTest += other.invalidTest
        }

        mutating func count(valid: Bool, purpose: String) {
            switch (valid, purpose == SimulationPurpose.test.rawValue) {
            case (true, false): validTrain += 1
            case (false, false): invalidTrain += 1
            case (true, true): validTest += 1
            case (false, true): invalidTest += 1
            }
        }
    }

    /// Inserts `records`, skipping task ids already stored, and adds what was inserted to the
    /// round's counters in the same statement (PostgreSQL) or the next (SQLite), so that the
    /// statement after the last chunk is COMMIT.
    private static func insert(_ records: ArraySlice<EncodedRecord>, round: RoundID, worker: String, thetaDim: Int,
                               _ c: SQLConnection) throws -> InsertedCounts {
        let shared: [SQLValue] = [.id(round), .text(worker), .text(String(thetaDim))]
        if c.dialect.kind == .postgres {
            // Counted on the server: one result row instead of one per inserted simulation.
            let row = try c.query("""
                WITH stored AS (
                    INSERT INTO simulations (round_id, worker_id, theta_shape, task_id, theta, x, x_shape, valid, reason, purpose)
                    SELECT $1, $2, $3, u.task_id, u.theta, u.x, u.x_shape, u.valid, u.reason, u.purpose
                    FROM unnest($4::text[], $5::bytea[], $6::bytea[], $7::text[], $8::boolean[], $9::text[], $10::text[])
                        AS u (task_id, theta, x, x_shape, valid, reason, purpose)
                    ON CONFLICT (task_id) DO NOTHING RETURNING valid, purpose),
                counted AS (
                    SELECT count(*) FILTER (WHERE valid AND purpose = 'train') AS valid_train,
                        count(*) FILTER (WHERE NOT valid AND purpose = 'train') AS invalid_train,
                        count(*) FILTER (WHERE valid AND purpose = 'test') AS valid_test,
                        count(*) FILTER (WHERE NOT valid AND purpose = 'test') AS invalid_test
                    FROM stored)
                SELECT valid_train, invalid_train, valid_test, invalid_test FROM counted
                """, shared + [
                    .postgresArray(.text(records.map(\.taskId))), .postgresArray(.bytea(records.map(\.theta))),
                    .postgresArray(.bytea(records.map(\.x))), .postgresArray(.text(records.map(\.xShape))),
                    .postgresArray(.bool(records.map(\.valid))), .postgresArray(.text(records.map(\.reason))),
                    .postgresArray(.text(records.map(\.purpose))),
                ])[0]
            return InsertedCounts(validTrain: try row.int(0), invalidTrain: try row.int(1), validTest: try row.int(2), invalidTest: try row.int(3))
        }
        var sql = "INSERT INTO simulations (round_id, worker_id, theta_shape, task_id, theta, x, x_shape, valid, reason, purpose) VALUES "
        var binds = shared
        binds.reserveCapacity(shared.count + 7 * records.count)
        for (k, record) in records.enumerated() {
            let p = shared.count + 7 * k
            if k > 0 { sql += ", " }
            sql += "($1, $2, $3, $\(p + 1), $\(p + 2), $\(p + 3), $\(p + 4), $\(p + 5), $\(p + 6), $\(p + 7))"
            binds += [.text(record.taskId), .blob(record.theta), .blob(record.x), .text(record.xShape),
                      .bool(record.valid), .optionalText(record.reason), .text(record.purpose)]
        }
        sql += " ON CONFLICT (task_id) DO NOTHING RETURNING valid, purpose"
        var counts = InsertedCounts()
        for row in try c.query(sql, binds) { counts.count(valid: try row.bool(0), purpose: try row.text(1)) }
        return counts
    }

    /// Adds one append's inserted rows to the round's counters: once per append, however
    /// many insert statements it took (a group commit of 100,000 pairs is 100 of them).
    private static func bumpCounters(round: RoundID, by counts: InsertedCounts, _ c: SQLConnection) throws {
        guard counts.inserted > 0 else { return }
        try c.run("""
            UPDATE rounds SET valid_train = valid_train + $2, invalid_train = invalid_train + $3,
                valid_test = valid_test + $4, invalid_test = invalid_test + $5 WHERE id = $1
            """, [.id(round), .int(counts.validTrain), .int(counts.invalidTrain), .int(counts.validTest), .int(counts.invalidTest)])
    }

    private struct EncodedRecord {
        var taskId: String
        var theta: [UInt8]
        var x: [UInt8]
        var xShape: String
        var valid: Bool
        var reason: String?
        var purpose: String
    }

    private static func encode(_ batch: [SimulationRecord], experiment: String, thetaDim: Int, xCount: Int,
                               xShapeText: String) throws -> [EncodedRecord] {
        var seen = Set<String>()
        seen.reserveCapacity(batch.count)
        return try batch.map { record in
            let task = record.taskId
            guard !task.isEmpty else {
                throw RegistryError(.invalidInput, "experiment \(experiment): a simulation has an empty task id; the batch was not stored")
            }
            guard seen.insert(task).inserted else {
                throw RegistryError(.invalidInput, "experiment \(experiment): task \(task) appears twice in one batch; the batch was not stored")
            }
            guard record.theta.count == thetaDim else {
                throw RegistryError(.invalidInput, """
                    experiment \(experiment), task \(task): θ has \(record.theta.count) values but the experiment's θ has \
                    \(thetaDim); the batch was not stored
                    """)
            }
            guard record.theta.allSatisfy(\.isFinite) else {
                throw RegistryError(.invalidInput, """
                    experiment \(experiment), task \(task): θ contains NaN or ±infinity, which no proposal should produce; \
                    the batch was not stored
                    """)
            }
            var valid = record.valid
            var reason = record.reason
            if !valid {
                reason = reason ?? "marked invalid by the simulator"
                guard record.x.isEmpty || record.x.count == xCount else {
                    throw RegistryError(.invalidInput, """
                        experiment \(experiment), task \(task): x has \(record.x.count) values but the experiment's x has \
                        \(xCount) (or none, for a failed simulation); the batch was not stored
                        """)
                }
            } else {
                guard record.x.count == xCount else {
                    throw RegistryError(.invalidInput, """
                        experiment \(experiment), task \(task): x has \(record.x.count) values but the experiment's x has \
                        shape [\(xShapeText)] (\(xCount) values); the batch was not stored
                        """)
                }
                if let bad = record.x.firstIndex(where: { !$0.isFinite }) {
                    valid = false
                    reason = "x[\(bad)] is \(record.x[bad]): non-finite output"
                }
            }
            return EncodedRecord(taskId: task, theta: FloatArrayCoding.encode(record.theta), x: FloatArrayCoding.encode(record.x),
                                 xShape: record.x.isEmpty ? "0" : xShapeText, valid: valid, reason: reason,
                                 purpose: record.purpose.rawValue)
        }
    }

    /// The valid training pairs of rounds `rounds` of `experiment`, in round then task
    /// order (a round's test set is never included): within a round by task id, a trailing
    /// number compared as a number (`TaskOrder`). Arrival order depends on which worker
    /// finished first; the order training sees must not.
    ///
    /// Each round is read through the simulations index `(round_id, id)` in pages, so
    /// other rounds' and other experiments' rows are never touched and the database
    /// client holds one page at a time; the pages share one snapshot (one read-only
    /// transaction), so rows appended meanwhile are not half-included.
    public func trainingData(experiment: String, rounds: ClosedRange<Int>) throws -> TrainingData {
        try trainingData(experiment: experiment, rounds: rounds, pageSize: 50_000)
    }

    /// The valid pairs of round `round`'s held-out test set, in task order.
    public func testData(experiment: String, round: Int) throws -> TrainingData {
        try trainingData(experiment: experiment, rounds: round...round, purpose: .test, pageSize: 50_000)
    }

    /// One page of a round's valid pairs of one purpose after a simulation id ($1 round, $2
    /// id, $3 page size, $4 purpose), meant to run on the index (round_id, id); the tests
    /// EXPLAIN this very text.
    static let trainingPageQuery = """
        SELECT id, theta, x, task_id FROM simulations WHERE round_id = $1 AND valid AND purpose = $4 AND id > $2
        ORDER BY id LIMIT $3
        """

    func trainingData(experiment: String, rounds: ClosedRange<Int>, pageSize: Int) throws -> TrainingData {
        try trainingData(experiment: experiment, rounds: rounds, purpose: .training, pageSize: pageSize)
    }

    func trainingData(experiment: String, rounds: ClosedRange<Int>, purpose: SimulationPurpose, pageSize: Int) throws -> TrainingData {
        try read("reading the training data of \(experiment) rounds \(rounds.lowerBound)…\(rounds.upperBound)") { c in
            let exp = try self.experiment(named: experiment, c)
            let roundIds = try c.query("""
                SELECT id FROM rounds WHERE experiment_id = $1 AND round_index BETWEEN $2 AND $3 ORDER BY round_index
                """, [.id(exp.id), .int(rounds.lowerBound), .int(rounds.upperBound)]).map { try $0.id(0) as RoundID }
            let thetaBytes = 4 * exp.thetaDimension, xBytes = 4 * exp.xCount
            var theta = [Float](), x = [Float]()
            var count = 0
            for round in roundIds {
                var after: Int64 = 0
                var pageRows = pageSize
                var order: [TaskOrder] = []
                let first = count
                while pageRows == pageSize {
                    pageRows = 0
                    try c.forEachRawRow(Self.trainingPageQuery, [.id(round), .integer(after), .int(pageSize),
                                                                  .text(purpose.rawValue)]) { row in
                        let t = row.bytes(1), v = row.bytes(2)
                        guard t.count == thetaBytes, v.count == xBytes else {
                            throw RegistryError(.schema, "experiment \(experiment): simulation \(row.int64(0)) has θ or x of the wrong size; the registry was written by something other than ili")
                        }
                        FloatArrayCoding.decode(t, appendingTo: &theta)
                        FloatArrayCoding.decode(v, appendingTo: &x)
                        order.append(TaskOrder(row.bytes(3), arrival: order.count))
                        after = row.int64(0)
                        pageRows += 1
                    }
                    count += pageRows
                }
                TaskOrder.sort(rows: first..<count, by: order, theta: &theta, thetaWidth: exp.thetaDimension, x: &x, xWidth: exp.xCount)
            }
            return TrainingData(rounds: rounds, thetaDimension: exp.thetaDimension, xShape: exp.xShape, count: count, theta: theta, x: x)
        }
    }
}

extension Registry {
    /// The task ids already stored for round `roundId` (valid or not, any purpose): what a
    /// restarted run must not simulate again.
    public func storedTaskIds(round roundId: RoundID) throws -> Set<String> {
        var ids = Set<String>()
        try forEachStoredTaskId(round: roundId) { ids.insert(String(decoding: $0, as: UTF8.self)) }
        return ids
    }

    /// The numbers N of the stored task ids of round `roundId` that read `prefix` followed
    /// by N (`exp/r3/training/` gives the indices of round 3's training tasks): how a
    /// restarted run finds what it must not simulate again, without a string per task.
    public func storedTaskNumbers(round roundId: RoundID, prefix: String) throws -> Set<Int> {
        let head = Array(prefix.utf8)
        var numbers = Set<Int>()
        try forEachStoredTaskId(round: roundId) { id in
            guard id.count > head.count, id.count - head.count <= 18, zip(head, id).allSatisfy({ $0 == $1 }) else { return }
            var n = 0
            for byte in id[head.count...] {
                guard byte >= 48 && byte <= 57 else { return }
                n = n * 10 + Int(byte - 48)
            }
            numbers.insert(n)
        }
        return numbers
    }

    /// Each stored task id of the round as its UTF-8 bytes, through the raw row path (a
    /// round can hold millions).
    private func forEachStoredTaskId(round roundId: RoundID, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        try read("listing the stored simulations of round \(roundId)") { c in
            _ = try round(id: roundId, c)
            try c.forEachRawRow("SELECT task_id FROM simulations WHERE round_id = $1", [.id(roundId)]) { try body($0.bytes(0)) }
        }
    }

    /// Why the most recent invalid simulations of round `roundId` failed, newest first.
    public func failureReasons(round roundId: RoundID, limit: Int = 5) throws -> [(taskId: String, reason: String)] {
        try read("reading the failed simulations of round \(roundId)") { c in
            try c.query("""
                SELECT task_id, coalesce(reason, '') FROM simulations WHERE round_id = $1 AND NOT valid ORDER BY id DESC LIMIT $2
                """, [.id(roundId), .int(limit)]).map { (try $0.text(0), try $0.text(1)) }
        }
    }
}
