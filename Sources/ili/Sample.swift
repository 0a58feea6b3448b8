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
            """
    )

    @Option(help: "A posterior directory (from `ili train` or `ili registry export`).") var posterior: String
    @Option(help: "The observation(s), .npy.") var obs: String
    @Option(name: .customLong("num-samples"), help: "Samples per observation.") var numSamples: Int = 10_000
    @Option(help: "Where to write the samples (.npy).") var out: String
    @Option(help: "Random seed.") var seed: UInt64 = 0

    func validate() throws {
        guard numSamples >= 1 else { throw ValidationError("--num-samples must be at least 1") }
    }

    func run() throws {
        let model = try loadPosterior(from: posterior)
        let file = try NPYFile.read(obs)
        var observations = file.matrix(as: Double.self)
        if file.isOneDimensional { observations = Matrix(rows: 1, cols: observations.count, observations.storage) }
        guard observations.cols == model.xDimension else {
            throw ValidationError("\(obs): observations have \(observations.cols) values but the posterior takes x of width \(model.xDimension)")
        }
        var rng = RandomSource(seed: seed)
        let start = Date()
        let samples = try model.sample(numSamples, observations: observations, rng: &rng)
        try NPYFile.write(samples.converted(to: Float.self), to: out)
        print(String(format: "wrote %d samples (%d per observation × %d) of %d parameters to %@ in %.2f s",
                     samples.rows, numSamples, observations.rows, samples.cols, out, Date().timeIntervalSince(start)))
    }
}
