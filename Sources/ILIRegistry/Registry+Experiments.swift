import Foundation

/// What `createExperiment` needs: a unique name, the experiment's configuration and
/// prior (JSON, opaque to the registry), and the shapes every simulation must have.
public struct ExperimentSpec: Sendable {
    public var name: String
    public var config: String
    public var prior: String
    /// θ is a vector of this many floats.
    public var thetaDimension: Int
    /// The shape of one x (e.g. `[10]`, or `[2, 64]` for two 64-sample channels).
    public var xShape: [Int]

    public init(name: String, config: String = "{}", prior: String, thetaDimension: Int, xShape: [Int]) {
        self.name = name
        self.config = config
        self.prior = prior
        self.thetaDimension = thetaDimension
        self.xShape = xShape
    }
}

public struct Experiment: Sendable, Equatable {
    public var id: ExperimentID
    public var name: String
    public var config: String
    public var prior: String
    public var thetaDimension: Int
    public var xShape: [Int]
    public var createdAt: Date

    /// Floats in one x.
    public var xCount: Int { xShape.reduce(1, *) }
}

extension Registry {
    public func createExperiment(_ spec: ExperimentSpec) throws -> Experiment {
        let name = spec.name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !name.isEmpty else { throw RegistryError(.invalidInput, "an experiment needs a non-empty name") }
        guard spec.thetaDimension > 0 else {
            throw RegistryError(.invalidInput, "experiment \(name): thetaDimension must be at least 1, not \(spec.thetaDimension)")
        }
        guard !spec.xShape.isEmpty, spec.xShape.allSatisfy({ $0 > 0 }) else {
            throw RegistryError(.invalidInput, "experiment \(name): xShape must list positive dimensions, e.g. [10], not \(spec.xShape)")
        }
        let config = try JSONText.validated(spec.config, "experiment \(name): config")
        let prior = try JSONText.validated(spec.prior, "experiment \(name): prior")
        return try write("creating experiment \(name)") { c in
            do {
                let rows = try c.query("""
                    INSERT INTO experiments (name, config, prior, theta_dim, x_shape) VALUES ($1, $2, $3, $4, $5)
                    RETURNING \(Self.experimentColumns(c.dialect))
                    """, [.text(name), .text(config), .text(prior), .int(spec.thetaDimension), .text(FloatArrayCoding.shapeText(spec.xShape))])
                return try Self.experiment(rows[0])
            } catch let failure as SQLFailure where failure.kind == .uniqueViolation {
                throw RegistryError(.duplicateExperiment, "an experiment named \(name) already exists: pick another name, or find it with `ili registry experiments`")
            }
        }
    }

    /// The experiment called `name`; `.unknownExperiment` if there is none.
    public func experiment(named name: String) throws -> Experiment {
        try read("reading experiment \(name)") { c in try experiment(named: name, c) }
    }

    public func experiment(id: ExperimentID) throws -> Experiment {
        try read("reading experiment \(id)") { c in
            guard let row = try c.query("SELECT \(Self.experimentColumns(c.dialect)) FROM experiments WHERE id = $1", [.id(id)]).first else {
                throw RegistryError(.unknownExperiment, "there is no experiment with id \(id): list them with `ili registry experiments`")
            }
            return try Self.experiment(row)
        }
    }

    /// All experiments, oldest first.
    public func experiments() throws -> [Experiment] {
        try read("listing experiments") { c in
            try c.query("SELECT \(Self.experimentColumns(c.dialect)) FROM experiments ORDER BY id").map(Self.experiment)
        }
    }

    func experiment(named name: String, _ c: SQLConnection, lock: Bool = false) throws -> Experiment {
        let rows = try c.query("SELECT \(Self.experimentColumns(c.dialect)) FROM experiments WHERE name = $1\(lock ? c.dialect.forUpdate : "")", [.text(name)])
        guard let row = rows.first else {
            throw RegistryError(.unknownExperiment, "there is no experiment named \(name): check the name, or list them with `ili registry experiments`")
        }
        return try Self.experiment(row)
    }

    static func experimentColumns(_ d: SQLDialect) -> String {
        "id, name, config, prior, theta_dim, x_shape, \(d.epoch("created_at"))"
    }

    static func experiment(_ row: SQLRow) throws -> Experiment {
        let shapeText = try row.text(5)
        guard let shape = FloatArrayCoding.shape(shapeText) else {
            throw RegistryError(.schema, "experiment \(try row.text(1)) has an unreadable x shape `\(shapeText)`")
        }
        return Experiment(id: try row.id(0), name: try row.text(1), config: try row.text(2), prior: try row.text(3),
                          thetaDimension: try row.int(4), xShape: shape, createdAt: Date(epochSeconds: try row.double(6)))
    }
}
