import Foundation
import ILITensor

/// A trained estimator to register: one ensemble member of one method, trained in one round.
public struct ModelVersionSpec: Sendable {
    public var round: RoundID
    /// The inference method (e.g. "NPE", "NLE", "NRE").
    public var method: String
    /// The estimator's configuration (JSON): architecture, flow type, hyperparameters.
    public var estimator: String
    /// The member's position in its ensemble (0 for a single estimator).
    public var member: Int
    /// The weights, a safetensors file's bytes; stored as given.
    public var weights: [UInt8]
    /// Training figures (JSON): epochs, losses, wall time.
    public var trainingSummary: String

    public init(round: RoundID, method: String, estimator: String, member: Int = 0, weights: [UInt8], trainingSummary: String = "{}") {
        self.round = round
        self.method = method
        self.estimator = estimator
        self.member = member
        self.weights = weights
        self.trainingSummary = trainingSummary
    }

    /// The spec checked and normalised, ready to insert.
    struct Prepared {
        let spec: ModelVersionSpec
        let method: String
        let estimator: String
        let summary: String
        let sha256: String

        init(_ spec: ModelVersionSpec) throws {
            let method = spec.method.trimmingCharacters(in: .whitespaces)
            guard !method.isEmpty else { throw RegistryError(.invalidInput, "registering a model version for round \(spec.round): the method is empty (e.g. NPE)") }
            guard spec.member >= 0 else { throw RegistryError(.invalidInput, "registering a model version for round \(spec.round): member must be ≥ 0, not \(spec.member)") }
            guard !spec.weights.isEmpty else { throw RegistryError(.invalidInput, "registering a model version for round \(spec.round): the weights are empty") }
            self.spec = spec
            self.method = method
            estimator = try JSONText.validated(spec.estimator, "model version for round \(spec.round): estimator config")
            summary = try JSONText.validated(spec.trainingSummary, "model version for round \(spec.round): training summary")
            sha256 = SHA256.hex(spec.weights)
        }
    }
}

/// A registered model version; its weights are read separately with `modelWeights(id:)`.
public struct ModelVersion: Sendable, Equatable {
    public var id: ModelVersionID
    public var experimentId: ExperimentID
    public var round: RoundID
    public var roundIndex: Int
    public var method: String
    public var estimator: String
    public var member: Int
    /// 64 lowercase hex digits.
    public var weightsSHA256: String
    public var weightsByteCount: Int
    public var trainingSummary: String
    public var createdAt: Date
}

extension Registry {
    public func registerModelVersion(_ spec: ModelVersionSpec) throws -> ModelVersion {
        let prepared = try ModelVersionSpec.Prepared(spec)
        return try write("registering a \(prepared.method) model version for round \(spec.round)") { c in
            try insertModelVersion(prepared, c)
        }
    }

    func insertModelVersion(_ p: ModelVersionSpec.Prepared, _ c: SQLConnection) throws -> ModelVersion {
        let round = try round(id: p.spec.round, c)
        let rows = try c.query("""
            INSERT INTO model_versions (experiment_id, round_id, method, estimator, member, weights, weights_sha256, training_summary)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id
            """, [.id(round.experimentId), .id(round.id), .text(p.method), .text(p.estimator), .int(p.spec.member),
                  .blob(p.spec.weights), .text(p.sha256), .text(p.summary)])
        return try modelVersion(id: try rows[0].id(0), c)
    }

    public func modelVersion(id: ModelVersionID) throws -> ModelVersion {
        try read("reading model version \(id)") { c in try modelVersion(id: id, c) }
    }

    /// The model versions of `experiment`, oldest first.
    public func modelVersions(experiment: String) throws -> [ModelVersion] {
        try read("listing the model versions of \(experiment)") { c in
            let exp = try self.experiment(named: experiment, c)
            return try c.query("\(Self.modelVersionSelect(c.dialect)) WHERE m.experiment_id = $1 ORDER BY m.id", [.id(exp.id)])
                .map(Self.modelVersion)
        }
    }

    /// The stored weights of model version `id`, checked against their SHA-256.
    public func modelWeights(id: ModelVersionID) throws -> [UInt8] {
        try read("reading the weights of model version \(id)") { c in try modelWeights(id: id, c) }
    }

    func modelWeights(id: ModelVersionID, _ c: SQLConnection) throws -> [UInt8] {
        guard let row = try c.query("SELECT weights, weights_sha256 FROM model_versions WHERE id = $1", [.id(id)]).first else {
            throw RegistryError(.unknownModelVersion, "there is no model version \(id): list them with `ili registry models --experiment NAME`")
        }
        let weights = try row.blob(0)
        let stored = try row.text(1)
        let actual = SHA256.hex(weights)
        guard actual == stored else {
            throw RegistryError(.checksumMismatch, "model version \(id): the stored weights hash to \(actual), not the recorded \(stored); the row was altered or damaged, retrain or restore it")
        }
        return weights
    }

    func modelVersion(id: ModelVersionID, _ c: SQLConnection) throws -> ModelVersion {
        guard let row = try c.query("\(Self.modelVersionSelect(c.dialect)) WHERE m.id = $1", [.id(id)]).first else {
            throw RegistryError(.unknownModelVersion, "there is no model version \(id): list them with `ili registry models --experiment NAME`")
        }
        return try Self.modelVersion(row)
    }

    static func modelVersionSelect(_ d: SQLDialect) -> String {
        """
        SELECT m.id, m.experiment_id, m.round_id, r.round_index, m.method, m.estimator, m.member, m.weights_sha256,
            length(m.weights), m.training_summary, \(d.epoch("m.created_at"))
        FROM model_versions m JOIN rounds r ON r.id = m.round_id
        """
    }

    static func modelVersion(_ row: SQLRow) throws -> ModelVersion {
        ModelVersion(id: try row.id(0), experimentId: try row.id(1), round: try row.id(2), roundIndex: try row.int(3),
                     method: try row.text(4), estimator: try row.text(5), member: try row.int(6), weightsSHA256: try row.text(7),
                     weightsByteCount: try row.int(8), trainingSummary: try row.text(9), createdAt: Date(epochSeconds: try row.double(10)))
    }
}
