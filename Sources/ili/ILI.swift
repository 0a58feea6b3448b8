import ArgumentParser
import ILITensor

@main
struct ILI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ili",
        abstract: "Simulation-based inference: learn a posterior from a simulator's (θ, x) pairs.",
        discussion: """
            ili trains neural posterior, likelihood and ratio estimators on simulations, \
            validates their calibration, and keeps track of experiments in a registry.

            Start with `ili doctor` to check the libraries this binary linked.
            """,
        version: ILIVersion.current,
        subcommands: [
            Doctor.self,
            Run.self,
            Simulate.self,
            TrainWorker.self,
            Keys.self,
            Train.self,
            Sample.self,
            RegistryCommand.self,
            PlotCommand.self,
            Validate.self,
            PriorCommand.self,
            LogProb.self,
            MAP.self,
        ]
    )
}

extension ILI {
    /// Sets one OpenBLAS thread per process (or `ILI_BLAS_THREADS`) before any command runs:
    /// ili's matrices are small, and parallelism pays better across members and chains.
    /// The allocator keeps freed buffers (`AllocatorTuning`).
    ///
    /// Mistakes in the command line (parsing, and each command's `validate()`) print
    /// argument-parser's message with the usage and exit 64; an error thrown while the
    /// command runs prints `Error: <description>` alone and exits 1 (`exit(afterRunning:)`).
    static func main() async {
        AllocatorTuning.keepFreedMemory()
        BLASConfiguration.useDefaultThreadCount()
        var command: ParsableCommand
        do {
            command = try await asyncParseAsRoot()
        } catch {
            exit(withError: error)
        }
        do {
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(afterRunning: error)
        }
    }
}

enum ILIVersion {
    static let current = "0.1.0"
}
