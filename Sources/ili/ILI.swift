import ArgumentParser
import ILITensor

@main
struct ILI: ParsableCommand {
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
            Train.self,
            Sample.self,
            RegistryCommand.self,
            PlotCommand.self,
            Validate.self,
        ]
    )
}

extension ILI {
    /// Sets one OpenBLAS thread per process (or `ILI_BLAS_THREADS`) before any command runs:
    /// ili's matrices are small, and parallelism pays better across members and chains.
    /// The allocator keeps freed buffers (`AllocatorTuning`).
    static func main() {
        AllocatorTuning.keepFreedMemory()
        BLASConfiguration.useDefaultThreadCount()
        main(nil)
    }
}

enum ILIVersion {
    static let current = "0.1.0"
}
