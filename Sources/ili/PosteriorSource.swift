import ArgumentParser
import Foundation
import ILIInference
import ILIRegistry
import ILIRounds

/// Where `ili sample` (and friends) take a posterior from: a posterior directory, or the
/// registry (a posterior by id, or an experiment's latest, calibrated or not).
struct PosteriorSource: ParsableArguments {
    @Option(help: ArgumentHelp("A posterior directory (from `ili train`, `ili run` or `ili registry export`).", valueName: "dir"))
    var posterior: String?

    @Option(help: ArgumentHelp("Take the posterior from this registry (postgresql://… or sqlite:PATH; default $ILI_REGISTRY).",
                               valueName: "url"))
    var registry: String?

    @Option(help: ArgumentHelp("The experiment whose latest posterior to take (with --latest-calibrated or --latest).", valueName: "name"))
    var experiment: String?

    @Flag(help: "The experiment's newest posterior that a passing verdict marked calibrated.")
    var latestCalibrated = false

    @Flag(help: "The experiment's newest posterior, calibrated or not.")
    var latest = false

    @Option(help: ArgumentHelp("A registered posterior: N or posterior-N.", valueName: "id"))
    var posteriorId: String?

    func validate() throws {
        let fromRegistry = latestCalibrated || latest || posteriorId != nil
        if posterior != nil && (fromRegistry || registry != nil || experiment != nil) {
            throw ValidationError("give either --posterior DIR or a registered posterior (--posterior-id, or --experiment with --latest-calibrated or --latest), not both")
        }
        if posterior == nil && !fromRegistry {
            throw ValidationError("which posterior? give --posterior DIR, --posterior-id N, or --experiment NAME with --latest-calibrated (or --latest)")
        }
        if latestCalibrated && latest { throw ValidationError("--latest-calibrated and --latest exclude each other") }
        if (latestCalibrated || latest) && experiment == nil {
            throw ValidationError("--\(latest ? "latest" : "latest-calibrated") needs --experiment NAME")
        }
        if posteriorId != nil && (latestCalibrated || latest) {
            throw ValidationError("--posterior-id names one posterior; leave out --latest-calibrated and --latest")
        }
        if let posteriorId, Self.parseId(posteriorId) == nil {
            throw ValidationError("--posterior-id \(posteriorId): write N or posterior-N (see `ili registry posteriors`)")
        }
    }

    static func parseId(_ text: String) -> PosteriorID? {
        if let name = RecordName(parsing: text) { return name.kind == .posterior ? name.recordId() : nil }
        return Int64(text).flatMap { $0 > 0 ? PosteriorID(rawValue: $0) : nil }
    }

    /// The posterior, and a few words saying which one it is.
    func load() throws -> (posterior: any Posterior, description: String) {
        if let posterior { return (showingWarnings(try loadPosterior(from: posterior)), posterior) }
        let url = try RegistryOptions.url(given: registry)
        let registry = try Registry(url: url, createIfMissing: false)
        defer { registry.close() }
        let id: PosteriorID
        if let posteriorId {
            id = Self.parseId(posteriorId)!
        } else {
            let experiment = experiment!
            guard let found = try registry.latestPosterior(experiment: experiment, calibratedOnly: latestCalibrated) else {
                throw RegistryError(.unknownPosterior, latestCalibrated
                    ? "experiment \(experiment) has no calibrated posterior yet: see `ili registry posteriors --experiment \(experiment)`, or take --latest"
                    : "experiment \(experiment) has no posterior yet")
            }
            id = found.id
        }
        return (showingWarnings(try RegistryArchives.posterior(registry, id: id)), "posterior-\(id) of \(registry.url.redacted)")
    }
}

/// Shows a posterior's warnings (low acceptance, MCMC diagnostics out of bounds) on
/// standard error, as `warning: …` lines.
func showingWarnings(_ posterior: any Posterior) -> any Posterior {
    let show: (String) -> Void = { FileHandle.standardError.write(Data("warning: \($0)\n".utf8)) }
    if let direct = posterior as? DirectPosterior { direct.warn = show }
    if let mcmc = posterior as? MCMCPosterior { mcmc.warn = show }
    return posterior
}
