import ArgumentParser
import ILITensor

@main
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ili-bench",
        abstract: "Timings of ili's engine and networks, printed for the scripts in Benchmarks/ to compare.",
        subcommands: [
            MLPStepBenchmark.self,
            NetsStepBenchmark.self,
            RatioStepBenchmark.self,
            TaskData.self,
            C2STCommand.self,
            FlowParityCommand.self,
            FleetBench.self,
            GateCommand.self,
        ]
    )

    /// Allocator set up as the `ili` executable sets it, so steps are timed as they run there.
    static func main() {
        AllocatorTuning.keepFreedMemory()
        main(nil)
    }
}
