import Foundation
import ILIInference
import ILIRegistry
import ILIValidation

/// Stores a validation run's outcome for a registered posterior: one result per check and
/// the verdict, in one transaction, and the calibrated flag through the verdict when it
/// passed. What `ili run` does after each round and `ili validate --registry` does for a
/// registered posterior directory.
public enum ValidationRecording {
    /// The metric under which the overall verdict is stored.
    public static let verdictMetric = "verdict"

    /// Records `verdict` (and each of its checks) for posterior `id`; returns the posterior
    /// as it now stands.
    @discardableResult
    public static func record(_ verdict: CalibrationVerdict, plots: [String], posterior id: PosteriorID,
                              registry: Registry) throws -> RegisteredPosterior {
        var specs = try verdict.checks.map { check in
            ValidationSpec(metric: check.name, value: check.value.isFinite ? check.value : nil, passed: check.passed,
                           details: try ArchiveJSON.text(check))
        }
        specs.append(ValidationSpec(metric: verdictMetric, value: nil, passed: verdict.passed,
                                    details: try ArchiveJSON.text(verdict), plotFiles: plots))
        let recorded = try registry.recordValidations(posterior: id, specs)
        return try finishCalibration(posterior: id, verdict: recorded.last!, registry: registry)
    }

    /// The latest stored verdict of posterior `id`, if it was judged.
    public static func storedVerdict(posterior id: PosteriorID, registry: Registry) throws -> ValidationResult? {
        try registry.validationResults(posterior: id).last { $0.metric == verdictMetric }
    }

    /// Marks the posterior calibrated when `verdict` passed and it is not yet (a run that
    /// stopped between the two steps finishes here).
    @discardableResult
    public static func finishCalibration(posterior id: PosteriorID, verdict: ValidationResult, registry: Registry) throws -> RegisteredPosterior {
        let posterior = try registry.posterior(id: id)
        guard verdict.passed, !posterior.calibrated else { return posterior }
        return try registry.markCalibrated(posterior: id, verdict: verdict.id)
    }

    /// Checks that the posterior directory `archive` is registered posterior `id` of
    /// `registry` (same members, same weights files), so that a verdict about the files is a
    /// verdict about the registry's posterior.
    public static func checkSamePosterior(_ archive: PosteriorArchive, directory: String, registry: Registry) throws -> PosteriorID {
        guard let id = archive.manifest.posterior.map(PosteriorID.init(rawValue:)) else {
            throw RegistryError(.invalidInput, "\(directory) was never registered (its posterior.json has no registry id): train it with `ili train --registry URL` or `ili run`, or export one with `ili registry export`")
        }
        let posterior = try registry.posterior(id: id)
        let registered = try posterior.members.map { try registry.modelVersion(id: $0.modelVersion).weightsSHA256 }
        guard registered == archive.manifest.members.map(\.sha256) else {
            throw RegistryError(.invalidInput, "\(directory) says it is posterior-\(id) of \(registry.url.redacted), but its member files differ from that posterior's model versions: is it the same registry?")
        }
        return id
    }
}
