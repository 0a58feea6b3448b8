import ArgumentParser
import Foundation
import ILIInference

/// `ili prior …`: the prior of a run configuration on its own.
struct PriorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prior",
        abstract: "Work with the prior of a run configuration.",
        subcommands: [PriorSample.self]
    )
}

/// `ili prior sample CONFIG.yaml --count N --out theta.npy [--seed S]`
struct PriorSample: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Draw parameters θ from the prior of a run configuration, e.g. to simulate training data.",
        discussion: """
            Reads only the `prior` key of CONFIG (the forms of schemas/config.md: uniform, \
            normal, lognormal, mvnormal, independent) and writes COUNT draws, one per row, to \
            OUT as a float32 .npy array of COUNT × d. The same seed gives the same draws.

            Example:
              ili prior sample run.yaml --count 10000 --out theta.npy --seed 1
            """
    )

    @Argument(help: "A run configuration (YAML) with a `prior` key.") var config: String
    @Option(help: "How many draws.") var count: Int
    @Option(help: "Where to write them (.npy).") var out: String
    @Option(help: "Random seed.") var seed: UInt64 = 0

    func validate() throws {
        guard count >= 1 else { throw ValidationError("--count must be at least 1") }
    }

    func run() throws {
        let root = try ConfigNode.load(path: config)
        let specification = try PriorSpecification.parse(try root.mapping().required("prior"))
        let prior = try specification.makePrior(source: config, keyPath: "prior")
        var rng = RandomSource(seed: seed)
        let theta = prior.sample(count, rng: &rng)
        do {
            try NPYFile.write(theta.converted(to: Float.self), to: out)
        } catch {
            throw CommandFailure("cannot write \(out): \(ILI.failureMessage(for: error))")
        }
        print("wrote \(count) draws of the \(prior.dimension)-parameter prior to \(out)")
    }
}
