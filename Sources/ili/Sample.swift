import ArgumentParser
import Foundation
import ILIInference

/// The MCMC options of `ili sample`, which override the sampler saved with an NLE or NRE posterior.
struct SamplerOptions: ParsableArguments {
    @Option(help: "MCMC sampler for NLE/NRE posteriors: slice, ensemble or sir (default: the posterior's, normally slice).")
    var sampler: SamplerKind?
    @Option(help: "Chains per observation (walkers for the ensemble sampler; default 20).") var chains: Int?
    @Option(help: "Warm-up steps per chain, discarded (default 200).") var warmup: Int?
    @Option(help: "Keep every N-th step after warm-up (default 1).") var thin: Int?
    @Option(help: "Proposals per draw for sir (default 32).") var oversampling: Int?

    var isEmpty: Bool { sampler == nil && chains == nil && warmup == nil && thin == nil && oversampling == nil }

    func apply(to settings: inout SamplerSettings) {
        if let sampler { settings.kind = sampler }
        if let chains { settings.chains = chains }
        if let warmup { settings.warmup = warmup }
        if let thin { settings.thin = thin }
        if let oversampling { settings.sirOversampling = oversampling }
    }
}

extension SamplerKind: ExpressibleByArgument {}

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
        let file = try NPYFile.read(obs)
        var observations = file.matrix(as: Double.self)
        if file.isOneDimensional { observations = Matrix(rows: 1, cols: observations.count, observations.storage) }
        guard observations.cols == model.xDimension else {
            throw CommandFailure("\(obs): observations have \(observations.cols) values but the posterior takes x of width \(model.xDimension)")
        }
        let mcmcPosterior = model as? MCMCPosterior
        if let mcmcPosterior {
            mcmc.apply(to: &mcmcPosterior.sampler)
            do {
                try mcmcPosterior.sampler.validate(parameterCount: mcmcPosterior.thetaDimension)
            } catch let error as SamplerError {
                let flags = ["kind": "--sampler", "chains": "--chains", "warmup": "--warmup", "thin": "--thin", "sirOversampling": "--oversampling"]
                throw CommandFailure((error.field.flatMap { flags[$0] }.map { "\($0): " } ?? "") + error.message)
            }
            if !quiet && isatty(STDERR_FILENO) != 0 {
                let kind = mcmcPosterior.sampler.kind.rawValue
                mcmcPosterior.progress = { p in
                    let line = String(format: "\r[%@] %@ %d/%d  %.1fs   ", kind, p.phase.rawValue, p.step, p.totalSteps, p.elapsedSeconds)
                    FileHandle.standardError.write(Data(line.utf8))
                }
            }
        } else if !mcmc.isEmpty {
            throw CommandFailure("\(description) is an NPE posterior, which is sampled directly; --sampler, --chains, --warmup, --thin and --oversampling are for NLE and NRE posteriors")
        }
        var rng = RandomSource(seed: seed)
        let start = Date()
        let samples = try model.sample(numSamples, observations: observations, rng: &rng)
        if mcmcPosterior?.progress != nil { FileHandle.standardError.write(Data("\n".utf8)) }
        try NPYFile.write(samples.converted(to: Float.self), to: out)
        print(String(format: "wrote %d samples (%d per observation × %d) of %d parameters to %@ in %.2f s",
                     samples.rows, numSamples, observations.rows, samples.cols, out, Date().timeIntervalSince(start)))
        if let mcmcPosterior {
            try writeDiagnostics(mcmcPosterior)
        }
    }

    /// Writes the run's settings, cost and per-observation diagnostics next to the samples,
    /// and prints the worst R-hat and smallest ESS.
    func writeDiagnostics(_ posterior: MCMCPosterior) throws {
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
                         posterior.sampler.kind.rawValue, posterior.sampler.chains, worstRHat, leastESS, path))
        } else {
            print("\(posterior.sampler.kind.rawValue) sampler; settings in \(path)")
        }
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
