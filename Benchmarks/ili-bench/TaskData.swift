import ArgumentParser
import ILIInference

/// Writes simulations of a reference task and exact posterior samples, for benchmarks
/// that feed the same files to ili and to the Python peers.
struct TaskData: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "task-data",
        abstract: "Write θ.npy and x.npy of a reference task, and exact posterior samples at given observations."
    )

    @Argument(help: "two-moons or gaussian-linear.") var task: String
    @Option(help: "Number of simulations.") var count = 10_000
    @Option(help: "Random seed.") var seed: UInt64 = 1
    @Option(help: "Output directory (must exist).") var out: String
    @Option(help: "Observations, as comma-separated values, separated by ';'.") var observations = ""
    @Option(help: "Reference samples per observation.") var referenceSamples = 10_000

    func run() throws {
        let reference: any ReferenceTask
        switch task {
        case "two-moons": reference = TwoMoons()
        case "gaussian-linear": reference = GaussianLinear()
        default: throw ValidationError("unknown task \(task)")
        }
        var rng = RandomSource(seed: seed)
        let (theta, x) = reference.simulations(count, rng: &rng)
        try NPYFile.write(theta.converted(to: Float.self), to: "\(out)/theta.npy")
        try NPYFile.write(x.converted(to: Float.self), to: "\(out)/x.npy")
        let obs = observations.split(separator: ";").map { $0.split(separator: ",").compactMap { Double($0) } }
        for (k, o) in obs.enumerated() {
            let samples = try reference.referencePosterior(referenceSamples, observation: o, rng: &rng)
            try NPYFile.write(samples, to: "\(out)/reference_\(k + 1).npy")
            try NPYFile.write(Matrix(rows: 1, cols: o.count, o), to: "\(out)/obs_\(k + 1).npy", oneDimensional: true)
        }
        print("wrote \(count) simulations and \(obs.count) reference posterior(s) to \(out)")
    }
}
