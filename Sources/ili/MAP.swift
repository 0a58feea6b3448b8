import ArgumentParser
import Foundation
import ILIInference

/// `ili map --posterior DIR --obs X.npy [--out map.npy] [--seed S]`
struct MAP: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "map",
        abstract: "Find the maximum a posteriori parameters at one or more observations.",
        discussion: """
            X.npy holds one observation (1-D) or several (one per row). For each, prints the \
            θ where the posterior density is highest, with its log-density, and with --out \
            writes them as a float64 .npy array (one row per observation).

            NPE: the best of 1,000 posterior draws (by log-density), refined by gradient ascent \
            on the flow's log-density within the prior's support. NLE and NRE: the best of \
            1,000 MCMC draws (with the posterior's sampler, or the MCMC options below) by the \
            log-likelihood (or log-ratio) plus log prior, refined by a compass search that \
            steps along each parameter and halves its steps until they are a thousandth of the \
            draws' spread. Both are local searches from the best draw: a posterior with \
            several modes of similar height may give a lower one. The same seed gives the same result.
            """
    )

    @OptionGroup var source: PosteriorSource
    @Option(help: "The observation(s), .npy.") var obs: String
    @Option(help: "Write the MAP parameters here (.npy).") var out: String?
    @Option(help: "Random seed.") var seed: UInt64 = 0
    @OptionGroup(title: "MCMC (NLE and NRE posteriors)") var mcmc: SamplerOptions

    func run() throws {
        let (posterior, description) = try source.load()
        let observations = try ArrayFiles.rows(obs, width: posterior.xDimension, what: "observation", oneDimensional: .oneRow)
        let mcmcPosterior = try mcmc.configure(posterior, path: description)
        var warnings = SamplerWarnings(subject: "observation")
        var rng = RandomSource(seed: seed)
        var rows: [[Double]] = []
        for i in 0..<observations.rows {
            let x = observations.row(i)
            let best: [Double]
            if let direct = posterior as? DirectPosterior {
                best = try direct.map(observation: x, rng: &rng)
            } else if let mcmcPosterior {
                mcmcPosterior.diagnosticsObserver = { warnings.add($0, offset: i) }
                best = try mcmcPosterior.map(observation: x, rng: &rng)
            } else {
                throw CommandFailure("\(description) is neither an NPE nor an NLE/NRE posterior; ili map cannot search it")
            }
            let value = try posterior.logProb(Matrix(rows: 1, cols: best.count, best), observations: Matrix(rows: 1, cols: x.count, x))[0]
            rows.append(best)
            print(String(format: "observation %d: θ = %@  (%@ %.4f)", i, best.map { String(format: "%.6g", $0) }.joined(separator: " "),
                         posterior.logProbIsNormalized ? "log posterior" : "unnormalised log posterior", value))
        }
        if let out {
            do {
                try NPYFile.write(Matrix(rows), to: out)
            } catch {
                throw CommandFailure("cannot write \(out): \(ILI.failureMessage(for: error))")
            }
            print("wrote \(rows.count) MAP estimate\(rows.count == 1 ? "" : "s") to \(out)")
        }
        if let mcmcPosterior { warnings.print(settings: mcmcPosterior.sampler, detailsFile: nil) }
    }
}
