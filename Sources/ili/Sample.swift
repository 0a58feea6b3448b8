import ArgumentParser
import Foundation
import ILIInference

/// `ili sample`: draws posterior samples for one or more observations.
struct Sample: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Draw samples from a trained posterior at one or more observations.",
        discussion: """
            OBS.npy holds one observation as a 1-D array of x's width, or several as a 2-D \
            array with one observation per row. OUT.npy receives N samples per observation as \
            a 2-D float32 array of (observations × N) rows and θ's width columns: rows \
            i·N ..< (i+1)·N belong to observation i. The same seed gives the same samples.

            NPE posteriors are sampled directly. NLE and NRE posteriors are sampled by MCMC: \
            the chains of all observations run together, in one network call per step. The \
            sampler saved with the posterior is used unless the options below override it. \
            Convergence diagnostics (split R-hat and bulk effective sample size per parameter \
            and observation) are written next to OUT as OUT-without-.npy + .diagnostics.json, \
            and a warning is printed when R-hat exceeds 1.01 or the ESS is under 10% of the draws.
            """
    )

    @OptionGroup(title: "Which posterior") var source: PosteriorSource
    @Option(help: "The observation(s), .npy.") var obs: String
    @Option(name: .customLong("num-samples"), help: "Samples per observation.") var numSamples: Int = 10_000
    @Option(help: "Where to write the samples (.npy).") var out: String
    @Option(help: "Random seed.") var seed: UInt64 = 0
    @OptionGroup(title: "MCMC (NLE and NRE posteriors)") var mcmc: SamplerOptions
    @Flag(name: .shortAndLong, help: "No progress line.") var quiet = false

    func validate() throws {
        guard numSamples >= 1 else { throw ValidationError("--num-samples must be at least 1") }
    }

    func run() throws {
        let (model, description) = try source.load()
        let observations = try ArrayFiles.rows(obs, width: model.xDimension, what: "observation", oneDimensional: .oneRow)
        let mcmcPosterior = try mcmc.configure(model, path: description)
        let line = ProgressLine(quiet: quiet)
        var warnings = SamplerWarnings(subject: "observation")
        if let mcmcPosterior {
            if line.enabled {
                let kind = mcmcPosterior.sampler.kind.rawValue
                mcmcPosterior.progress = { p in
                    line.update(String(format: "[%@] %@ %d/%d  %.1fs", kind, p.phase.rawValue, p.step, p.totalSteps, p.elapsedSeconds))
                }
            }
            mcmcPosterior.diagnosticsObserver = { warnings.add($0, offset: 0) }
        }
        var rng = RandomSource(seed: seed)
        let start = Date()
        let samples = try model.sample(numSamples, observations: observations, rng: &rng)
        line.finish()
        try NPYFile.write(samples.converted(to: Float.self), to: out)
        print(String(format: "wrote %d samples (%d per observation × %d) of %d parameters to %@ in %.2f s",
                     samples.rows, numSamples, observations.rows, samples.cols, out, Date().timeIntervalSince(start)))
        if let mcmcPosterior {
            let path = try writeDiagnostics(mcmcPosterior)
            warnings.print(settings: mcmcPosterior.sampler, detailsFile: path)
        }
    }

    /// Writes the run's settings, cost and per-observation diagnostics next to the samples,
    /// prints the worst R-hat and smallest ESS, and returns the file's path.
    func writeDiagnostics(_ posterior: MCMCPosterior) throws -> String {
        let path = (out.hasSuffix(".npy") ? String(out.dropLast(4)) : out) + ".diagnostics.json"
        let diagnostics = posterior.lastDiagnostics
        let report = DiagnosticsReport(sampler: posterior.sampler, samplesPerObservation: numSamples, seed: seed,
                                       networkCalls: posterior.lastCost.targetCalls, rowsEvaluated: posterior.lastCost.evaluatedRows,
                                       observations: diagnostics)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        // R-hat is ∞ for chains stuck apart, ESS NaN for too few draws.
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        do {
            try encoder.encode(report).write(to: URL(fileURLWithPath: path))
        } catch {
            throw CommandFailure("cannot write \(path): \(error.localizedDescription)")
        }
        let present = diagnostics.compactMap { $0 }
        if let worstRHat = present.flatMap(\.rHat).max(), let leastESS = present.flatMap(\.bulkEffectiveSampleSize).min() {
            print(String(format: "%@ sampler, %d chains: max R-hat %.4f, min bulk ESS %.0f; diagnostics in %@",
                         posterior.sampler.kind.rawValue, posterior.sampler.chains(forDraws: numSamples), worstRHat, leastESS, path))
        } else {
            print("\(posterior.sampler.kind.rawValue) sampler; settings in \(path)")
        }
        return path
    }
}

/// What `ili sample` stores next to MCMC samples.
struct DiagnosticsReport: Encodable {
    var sampler: SamplerSettings
    var samplesPerObservation: Int
    var seed: UInt64
    var networkCalls: Int
    var rowsEvaluated: Int
    /// One entry per observation row (null for SIR, which has no chains).
    var observations: [ChainDiagnostics?]
}
