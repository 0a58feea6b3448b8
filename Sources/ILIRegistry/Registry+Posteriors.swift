import Foundation

public struct PosteriorMember: Sendable, Equatable {
    public var index: Int
    public var modelVersion: ModelVersionID
    /// The member's share of the mixture; a posterior's weights sum to 1.
    public var weight: Double
}

/// An ensemble of model versions of one experiment and method, usable as one posterior.
public struct RegisteredPosterior: Sendable, Equatable {
    public var id: PosteriorID
    public var experimentId: ExperimentID
    /// The latest round any member was trained in.
    public var round: RoundID
    public var method: String
    /// True only once a stored passing validation verdict was attached (`markCalibrated`).
    public var calibrated: Bool
    /// The validation result that made it calibrated.
    public var calibratedBy: ValidationResultID?
    public var createdAt: Date
    public var members: [PosteriorMember]
    /// What samples it besides its members (JSON): the MCMC sampler, NRE's loss.
    public var settings: String
}

extension Registry {
    /// Creates a posterior from model versions and their ensemble weights. The weights must
    /// be positive and finite; they are stored normalised to sum to 1. All members must
    /// belong to one experiment and share one method.
    public func createPosterior(members: [(modelVersion: ModelVersionID, weight: Double)], settings: String = "{}") throws -> RegisteredPosterior {
        guard !members.isEmpty else { throw RegistryError(.invalidInput, "a posterior needs at least one model version") }
        let settings = try JSONText.validated(settings, "posterior settings")
        for member in members where !(member.weight.isFinite && member.weight > 0) {
            throw RegistryError(.invalidInput, "model version \(member.modelVersion): ensemble weight \(member.weight) must be positive and finite")
        }
        let total = members.reduce(0) { $0 + $1.weight }
        return try write("creating a posterior from model versions \(members.map { $0.modelVersion.description }.joined(separator: ", "))") { c in
            let versions = try members.map { try modelVersion(id: $0.modelVersion, c) }
            let experiments = Set(versions.map(\.experimentId)), methods = Set(versions.map(\.method))
            guard experiments.count == 1, methods.count == 1 else {
                throw RegistryError(.invalidInput, """
                    the members of a posterior must share one experiment and one method; these span experiments \
                    \(experiments.sorted()) and methods \(methods.sorted())
                    """)
            }
            let latestRound = versions.max { $0.roundIndex < $1.roundIndex }!.round
            let id = try c.query("INSERT INTO posteriors (experiment_id, round_id, method, settings) VALUES ($1, $2, $3, $4) RETURNING id",
                                 [.id(versions[0].experimentId), .id(latestRound), .text(versions[0].method),
                                  .text(settings)])[0].id(0) as PosteriorID
            for (index, member) in members.enumerated() {
                try c.run("INSERT INTO posterior_members (posterior_id, member_index, model_version_id, weight) VALUES ($1, $2, $3, $4)",
                          [.id(id), .int(index), .id(member.modelVersion), .real(member.weight / total)])
            }
            return try posterior(id: id, c)
        }
    }

    public func posterior(id: PosteriorID) throws -> RegisteredPosterior {
        try read("reading posterior \(id)") { c in try posterior(id: id, c) }
    }

    /// The posteriors of `experiment`, oldest first; only calibrated ones if asked.
    public func posteriors(experiment: String, calibratedOnly: Bool = false) throws -> [RegisteredPosterior] {
        try read("listing the posteriors of \(experiment)") { c in
            let exp = try self.experiment(named: experiment, c)
            let ids = try c.query("SELECT id FROM posteriors WHERE experiment_id = $1\(calibratedOnly ? " AND calibrated" : "") ORDER BY id",
                                  [.id(exp.id)]).map { try $0.id(0) as PosteriorID }
            return try ids.map { try posterior(id: $0, c) }
        }
    }

    /// The posteriors whose latest member was trained in round `round` (by id), oldest first.
    public func posteriors(round: RoundID) throws -> [RegisteredPosterior] {
        try read("listing the posteriors of round \(round)") { c in
            let ids = try c.query("SELECT id FROM posteriors WHERE round_id = $1 ORDER BY id", [.id(round)]).map { try $0.id(0) as PosteriorID }
            return try ids.map { try posterior(id: $0, c) }
        }
    }

    /// The newest posterior of `experiment` that a passing verdict marked calibrated, or
    /// nil when there is none.
    public func latestCalibratedPosterior(experiment: String) throws -> RegisteredPosterior? {
        try latestPosterior(experiment: experiment, calibratedOnly: true)
    }

    public func latestPosterior(experiment: String, calibratedOnly: Bool = false) throws -> RegisteredPosterior? {
        try read("finding the latest posterior of \(experiment)") { c in
            let exp = try self.experiment(named: experiment, c)
            guard let row = try c.query("""
                SELECT id FROM posteriors WHERE experiment_id = $1\(calibratedOnly ? " AND calibrated" : "") ORDER BY id DESC LIMIT 1
                """, [.id(exp.id)]).first else { return nil }
            return try posterior(id: try row.id(0), c)
        }
    }

    func posterior(id: PosteriorID, _ c: SQLConnection) throws -> RegisteredPosterior {
        guard let row = try c.query("""
            SELECT id, experiment_id, round_id, method, calibrated, calibrated_by, \(c.dialect.epoch("created_at")), settings
            FROM posteriors WHERE id = $1
            """, [.id(id)]).first else {
            throw RegistryError(.unknownPosterior, "there is no posterior \(id): list them with `ili registry posteriors --experiment NAME`")
        }
        let members = try c.query("""
            SELECT member_index, model_version_id, weight FROM posterior_members WHERE posterior_id = $1 ORDER BY member_index
            """, [.id(id)]).map { PosteriorMember(index: try $0.int(0), modelVersion: try $0.id(1), weight: try $0.double(2)) }
        return RegisteredPosterior(id: try row.id(0), experimentId: try row.id(1), round: try row.id(2),
                                   method: try row.text(3), calibrated: try row.bool(4), calibratedBy: try row.optionalId(5),
                                   createdAt: Date(epochSeconds: try row.double(6)), members: members, settings: try row.text(7))
    }
}
