import Foundation

/// One validation figure for a posterior: a metric (SBC rank uniformity, coverage, TARP,
/// C2ST, …), its value, and whether it passed the experiment's threshold.
public struct ValidationSpec: Sendable {
    public var metric: String
    public var value: Double?
    public var passed: Bool
    /// Anything else the validator wants to keep (JSON): thresholds, per-dimension figures.
    public var details: String
    /// Paths of the plots the validator wrote, relative to its run directory.
    public var plotFiles: [String]

    public init(metric: String, value: Double?, passed: Bool, details: String = "{}", plotFiles: [String] = []) {
        self.metric = metric
        self.value = value
        self.passed = passed
        self.details = details
        self.plotFiles = plotFiles
    }
}

public struct ValidationResult: Sendable, Equatable {
    public var id: ValidationResultID
    public var posterior: PosteriorID
    public var metric: String
    public var value: Double?
    public var passed: Bool
    public var details: String
    public var plotFiles: [String]
    public var createdAt: Date
}

extension Registry {
    public func recordValidation(posterior: PosteriorID, _ spec: ValidationSpec) throws -> ValidationResult {
        try recordValidations(posterior: posterior, [spec])[0]
    }

    /// Records several results of one posterior in one transaction (a validation run's
    /// checks and its verdict), so that a crash leaves all of them or none.
    public func recordValidations(posterior: PosteriorID, _ specs: [ValidationSpec]) throws -> [ValidationResult] {
        let prepared = try specs.map { spec -> (String, ValidationSpec, String, String) in
            let metric = spec.metric.trimmingCharacters(in: .whitespaces)
            guard !metric.isEmpty else { throw RegistryError(.invalidInput, "posterior \(posterior): a validation result needs a metric name") }
            if let value = spec.value, !value.isFinite {
                throw RegistryError(.invalidInput, "posterior \(posterior), metric \(metric): value \(value) is not finite; store nil and explain in details")
            }
            let details = try JSONText.validated(spec.details, "posterior \(posterior), metric \(metric): details")
            let plots = String(decoding: try JSONSerialization.data(withJSONObject: spec.plotFiles), as: UTF8.self)
            return (metric, spec, details, plots)
        }
        return try write("recording \(specs.count) validation results for posterior \(posterior)") { c in
            _ = try self.posterior(id: posterior, c)
            return try prepared.map { metric, spec, details, plots in
                let id = try c.query("""
                    INSERT INTO validation_results (posterior_id, metric, value, passed, details, plot_files)
                    VALUES ($1, $2, $3, $4, $5, $6) RETURNING id
                    """, [.id(posterior), .text(metric), spec.value.map(SQLValue.real) ?? .null, .bool(spec.passed),
                          .text(details), .text(plots)])[0].id(0) as ValidationResultID
                return try validationResult(id: id, c)
            }
        }
    }

    /// One stored validation result by its id.
    public func validationResult(id: ValidationResultID) throws -> ValidationResult {
        try read("reading validation result \(id)") { c in try validationResult(id: id, c) }
    }

    public func validationResults(posterior: PosteriorID) throws -> [ValidationResult] {
        try read("listing the validation results of posterior \(posterior)") { c in
            _ = try self.posterior(id: posterior, c)
            return try c.query("\(Self.validationSelect(c.dialect)) WHERE posterior_id = $1 ORDER BY id", [.id(posterior)])
                .map(Self.validationResult)
        }
    }

    /// Flags `posterior` calibrated on the strength of the stored validation result
    /// `verdict`, which must belong to it and have passed. This is the only way the flag
    /// is set, and the schema's foreign key refuses any other.
    @discardableResult
    public func markCalibrated(posterior: PosteriorID, verdict: ValidationResultID) throws -> RegisteredPosterior {
        try write("marking posterior \(posterior) calibrated") { c in
            _ = try self.posterior(id: posterior, c)
            let result = try validationResult(id: verdict, c)
            guard result.posterior == posterior else {
                throw RegistryError(.notCalibrated, "validation result \(verdict) is about posterior \(result.posterior), not \(posterior): use one of posterior \(posterior)'s own results")
            }
            guard result.passed else {
                throw RegistryError(.notCalibrated, "validation result \(verdict) (\(result.metric)) did not pass, so posterior \(posterior) stays uncalibrated")
            }
            try c.run("UPDATE posteriors SET calibrated = $2, calibrated_by = $3, verdict_passed = $2 WHERE id = $1",
                      [.id(posterior), .bool(true), .id(verdict)])
            return try self.posterior(id: posterior, c)
        }
    }

    func validationResult(id: ValidationResultID, _ c: SQLConnection) throws -> ValidationResult {
        guard let row = try c.query("\(Self.validationSelect(c.dialect)) WHERE id = $1", [.id(id)]).first else {
            throw RegistryError(.unknownValidationResult, "there is no validation result \(id)")
        }
        return try Self.validationResult(row)
    }

    static func validationSelect(_ d: SQLDialect) -> String {
        "SELECT id, posterior_id, metric, value, passed, details, plot_files, \(d.epoch("created_at")) FROM validation_results"
    }

    static func validationResult(_ row: SQLRow) throws -> ValidationResult {
        let plots = (JSONText.object(try row.text(6)) as? [String]) ?? []
        return ValidationResult(id: try row.id(0), posterior: try row.id(1), metric: try row.text(2), value: try row.optionalDouble(3),
                                passed: try row.bool(4), details: try row.text(5), plotFiles: plots,
                                createdAt: Date(epochSeconds: try row.double(7)))
    }
}
