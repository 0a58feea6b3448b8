import ArgumentParser
import Foundation
import ILIInference

/// `ili log-prob --posterior DIR --theta T.npy --obs X.npy [--out lp.npy]`
struct LogProb: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log-prob",
        abstract: "Evaluate a posterior's log-density at given parameters.",
        discussion: """
            T.npy holds parameter vectors θ, one per row (a 1-D array is one θ, or n values \
            of a one-parameter posterior). X.npy holds one observation per row of T, or a \
            single observation for all of them. Prints log p(θᵢ | xᵢ), one per line, or writes \
            them to --out as a 1-D float64 .npy array.

            NPE posteriors give the normalised log-density, corrected for the mass their \
            flow puts outside the prior's support (estimated once per distinct observation). \
            NLE and NRE posteriors give the log-likelihood (or log-ratio) plus the log prior: \
            the log posterior up to a constant per observation, which compares θs at one \
            observation but not across observations. θ outside the prior's support gives -inf.
            """
    )

    @OptionGroup var source: PosteriorSource
    @Option(help: "Parameters θ, one per row (.npy).") var theta: String
    @Option(help: "The observation(s): one per θ row, or one for all (.npy).") var obs: String
    @Option(help: "Write the log-densities here (.npy) instead of printing them.") var out: String?

    func run() throws {
        let (posterior, _) = try source.load()
        let thetas = try ArrayFiles.rows(theta, width: posterior.thetaDimension, what: "θ row", oneDimensional: .columnWhenWidthIsOne)
        var observations = try ArrayFiles.rows(obs, width: posterior.xDimension, what: "observation", oneDimensional: .oneRow)
        if observations.rows == 1 && thetas.rows > 1 {
            observations = observations.rows(at: Array(repeating: 0, count: thetas.rows))
        }
        guard observations.rows == thetas.rows else {
            throw CommandFailure("\(obs) holds \(observations.rows) observations for the \(thetas.rows) θ rows of \(theta); give one observation per θ row, or one for all")
        }
        let values = try posterior.logProb(thetas, observations: observations)
        if let out {
            do {
                try NPYFile.write(Matrix(rows: values.count, cols: 1, values), to: out, oneDimensional: true)
            } catch {
                throw CommandFailure("cannot write \(out): \(ILI.failureMessage(for: error))")
            }
            print("wrote \(values.count) \(posterior.logProbIsNormalized ? "" : "unnormalised ")log-densities to \(out)")
        } else {
            for value in values { print(value.isFinite ? String(format: "%.6f", value) : "\(value)") }
        }
    }
}
