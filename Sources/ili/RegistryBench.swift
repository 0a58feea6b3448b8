import ArgumentParser
import Foundation
import ILIRegistry

/// `ili registry bench` (hidden): the ingest and read-back measurement behind
/// Benchmarks/registry/run.sh. It writes throwaway experiments named bench-…, so point it
/// at a scratch database.
struct RegistryBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure bulk ingest and read-back of (θ, x) pairs (writes bench-… experiments).",
        discussion: """
            Each repeat creates an experiment with θ of --theta floats and x of --x floats, \
            appends --pairs pairs in batches of --batch (each batch one transaction), then \
            reads them all back as training data. Prints committed pairs per second and the \
            read-back time per repeat, and the median.
            """,
        shouldDisplay: false
    )

    @OptionGroup var options: RegistryOptions
    @Option(help: "Pairs per repeat.") var pairs = 100_000
    @Option(help: "Pairs per batch (one transaction each).") var batch = 1_000
    @Option(help: "Floats in θ.") var theta = 5
    @Option(help: "Floats in x.") var x = 10
    @Option(help: "Repeats.") var repeats = 3

    func run() throws {
        let registry = try options.open(createIfMissing: true)
        defer { registry.close() }
        var rates: [Double] = [], reads: [Double] = []
        for repeatIndex in 0..<repeats {
            let name = "bench-\(UUID().uuidString.prefix(8).lowercased())"
            _ = try registry.createExperiment(ExperimentSpec(name: name, prior: #"{"bench": true}"#, thetaDimension: theta, xShape: [x]))
            let round = try registry.openRound(experiment: name, strategy: "prior", targetCount: pairs)
            try registry.advanceRound(id: round.id, to: .simulating)
            let batches = makeBatches(prefix: name)

            let start = DispatchTime.now()
            for records in batches { try registry.appendSimulations(round: round.id, records, worker: "bench") }
            let ingestSeconds = seconds(since: start)

            let readStart = DispatchTime.now()
            let data = try registry.trainingData(experiment: name, rounds: 0...0)
            let readSeconds = seconds(since: readStart)
            guard data.count == pairs else {
                throw CommandFailure("read back \(data.count) pairs, expected \(pairs): the benchmark database is not fresh")
            }
            rates.append(Double(pairs) / ingestSeconds)
            reads.append(readSeconds)
            if !options.json {
                print(String(format: "%@ repeat %d: ingest %.0f pairs/s (%.2f s), read back %d pairs in %.3f s",
                             registry.url.redacted, repeatIndex + 1, rates.last!, ingestSeconds, pairs, readSeconds))
            }
        }
        let medianRate = rates.sorted()[rates.count / 2], medianRead = reads.sorted()[reads.count / 2]
        if options.json {
            try RegistryOutput.print(json: ["registry": registry.url.redacted, "pairs": pairs, "batch": batch, "theta": theta, "x": x,
                                            "ingestPairsPerSecond": rates, "readSeconds": reads,
                                            "medianIngestPairsPerSecond": medianRate, "medianReadSeconds": medianRead])
        } else {
            print(String(format: "median: ingest %.0f pairs/s (min %.0f, max %.0f), read back %.3f s (min %.3f, max %.3f)",
                         medianRate, rates.min()!, rates.max()!, medianRead, reads.min()!, reads.max()!))
        }
    }

    /// Pseudo-random pairs, made before the clock starts.
    private func makeBatches(prefix: String) -> [[SimulationRecord]] {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> Float {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(state >> 40) / Float(1 << 24) * 2 - 1
        }
        return stride(from: 0, to: pairs, by: batch).map { start in
            (start..<min(start + batch, pairs)).map { i in
                SimulationRecord(taskId: "\(prefix)-\(i)", theta: (0..<theta).map { _ in next() }, x: (0..<x).map { _ in next() })
            }
        }
    }

    private func seconds(since start: DispatchTime) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    }
}
