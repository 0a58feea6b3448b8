import ArgumentParser

@main
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ili-bench",
        abstract: "Timings of ili's engine and networks, printed for the scripts in Benchmarks/ to compare.",
        subcommands: [
            MLPStepBenchmark.self,
            NetsStepBenchmark.self,
            TaskData.self,
            C2STCommand.self,
            FlowParityCommand.self,
        ]
    )
}
