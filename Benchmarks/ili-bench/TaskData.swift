import ArgumentParser
import ILIInference

/// Writes simulations of a reference task and exact posterior samples, for benchmarks
/// that feed the same files to ili and to the Python peers.
///
/// Two moons, Gaussian linear and the LtU toy draw their reference samples here; for the SBI
/// benchmark's Lotka–Volterra and SIR tasks the observations and reference samples are the
/// benchmark's own, read from `--sbibm-files` (see `Benchmarks/sbibm/fetch.sh`), and only
/// the simulations are ili's.
struct TaskData: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "task-data",
        abstract: "Write θ.npy and x.npy of a reference task, and exact posterior samples at given observations."
    )

    @Argument(help: "two-moons, gaussian-linear, ltu-toy, lotka-volterra or sir.") var task: String
    @Option(help: "Number of simulations.") var count = 10_000
    @Option(help: "Random seed.") var seed: UInt64 = 1
    @Option(help: "Output directory (must exist).") var out: String
    @Option(help: "Observations, as comma-separated values, separated by ';'.") var observations = ""
    @Option(help: "Reference samples per observation.") var referenceSamples = 10_000
    @Option(help: "lotka-volterra and sir: the task's extracted sbibm files (<dir>/num_observation_N/...).")
    var sbibmFiles: String?
    @Option(help: "lotka-volterra and sir: the benchmark's observation numbers, comma-separated (1-10).")
    var observationNumbers = "1"

    func run() throws {
        switch task {
        case "lotka-volterra": return try writeBenchmarkTask(LotkaVolterra(), prior: LotkaVolterra().prior)
        case "sir": return try writeBenchmarkTask(SIREpidemic(), prior: SIREpidemic().prior)
        default: break
        }
        let reference: any ReferenceTask
        switch task {
        case "two-moons": reference = TwoMoons()
        case "gaussian-linear": reference = GaussianLinear()
        case "ltu-toy": reference = LtUToy()
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

    /// θ from the prior and x from ili's simulator, then obs_N.npy, reference_N.npy and
    /// true_N.npy for each requested observation N, copied from the benchmark's files.
    private func writeBenchmarkTask(_ simulator: any Simulator, prior: any Prior) throws {
        guard let sbibmFiles else { throw ValidationError("\(task) needs --sbibm-files DIR (run Benchmarks/sbibm/fetch.sh)") }
        let numbers = try observationNumbers.split(separator: ",").map { field in
            guard let n = Int(field), (1...10).contains(n) else {
                throw ValidationError("--observation-numbers: '\(field)' is not a benchmark observation (1 to 10)")
            }
            return n
        }
        // Read the files before simulating, so a missing one fails at once.
        let observations = try numbers.map { try SBIBenchmarkObservation(taskDirectory: sbibmFiles, number: $0) }
        for o in observations where o.observation.count != simulator.xDimension || o.trueParameters.count != simulator.thetaDimension {
            throw ValidationError("\(sbibmFiles)/num_observation_\(o.number): \(o.observation.count) data and \(o.trueParameters.count) parameters, but \(task) has \(simulator.xDimension) and \(simulator.thetaDimension)")
        }
        var rng = RandomSource(seed: seed)
        let theta = prior.sample(count, rng: &rng)
        let x = simulator.simulate(theta, rng: &rng)
        try NPYFile.write(theta.converted(to: Float.self), to: "\(out)/theta.npy")
        try NPYFile.write(x.converted(to: Float.self), to: "\(out)/x.npy")
        for o in observations {
            try NPYFile.write(Matrix(rows: 1, cols: o.observation.count, o.observation), to: "\(out)/obs_\(o.number).npy", oneDimensional: true)
            try NPYFile.write(Matrix(rows: 1, cols: o.trueParameters.count, o.trueParameters), to: "\(out)/true_\(o.number).npy", oneDimensional: true)
            try NPYFile.write(o.referenceSamples, to: "\(out)/reference_\(o.number).npy")
        }
        let failed = (0..<x.rows).filter { i in (0..<x.cols).contains { !x[i, $0].isFinite } }.count
        print("wrote \(count) simulations (\(failed) failed solves, NaN rows) and the benchmark's observation(s) \(numbers.map(String.init).joined(separator: ",")) to \(out)")
    }
}
