import ArgumentParser
import ILINets

/// One maximum-likelihood training step of a density estimator at sbi's default sizes:
/// log-prob of a batch, mean, backward, Adam update.
struct NetsStepBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nets-step",
        abstract: "Median milliseconds per density-estimator training step (log-prob, backward, Adam)."
    )

    @Option(help: "maf, nsf, mdn or made.") var model = "maf"
    @Option(help: "Dimension of y (θ).") var features = 2
    @Option(help: "Dimension of the context (x).") var context = 2
    @Option(help: "Batch size.") var batch = 200
    @Option(help: "BLAS threads.") var threads = 1
    @Option(help: "Untimed steps first.") var warmup = 50
    @Option(help: "Timed steps.") var steps = 300
    @Flag(help: "Call the model through `any ConditionalDensityEstimator` (as generic callers do).") var existential = false
    @Option(help: "One core's peak GFLOP/s, for the FLOP floor printed beside the step (OpenBLAS's small-matrix kernels reach about 100 here).")
    var peakGflops = 100.0

    func run() throws {
        BLASConfiguration.threadCount = threads
        guard let kind = DensityEstimatorConfiguration.Kind(rawValue: model) else {
            throw ValidationError("unknown model \(model); use maf, nsf, mdn or made")
        }
        let config = DensityEstimatorConfiguration(kind: kind, featureCount: features, contextCount: context)
        try config.validate()
        var rng = RandomSource(seed: 0)
        if existential {
            let model: any ConditionalDensityEstimator<Float> = try makeDensityEstimator(config, rng: &rng)
            try measure(model, &rng)
            return
        }
        switch kind {
        case .maf, .nsf: try measure(ConditionalFlow<Float>(configuration: config, rng: &rng), &rng)
        case .mdn: try measure(MixtureDensityNetwork<Float>(configuration: config, rng: &rng), &rng)
        case .made: try measure(MADEMixture<Float>(configuration: config, rng: &rng), &rng)
        }
    }

    func measure<E: ConditionalDensityEstimator>(_ estimator: E, _ rng: inout RandomSource) throws where E.Scalar == Float {
        let y: Matrix<Float> = rng.normalMatrix(rows: batch, cols: features)
        let c: Matrix<Float> = rng.normalMatrix(rows: batch, cols: context)
        estimator.fitStandardization(features: y, context: c)
        var adam = Adam(parameters: estimator.parameters, learningRate: 5e-4)
        let tape = Tape<Float>()
        var lastLoss: Float = 0
        let samples = timeEach(warmup: warmup, repetitions: steps) {
            tape.reset()
            let loss = -estimator.logProb(tape.constant(y), context: tape.constant(c)).mean()
            tape.backward(from: loss)
            adam.step()
            lastLoss = loss.value.scalar
        }
        let parameterCount = estimator.parameters.reduce(0) { $0 + $1.value.count }
        // The floor: every weight takes part in one multiply-add per row forward and two
        // backward (the input's gradient and its own), 6 FLOP per weight and row; the
        // element-wise work, a few percent of that at these sizes, is left out.
        let floorMs = 6 * Double(batch) * Double(parameterCount) / (peakGflops * 1e9) * 1e3
        let measured = median(samples)
        printResult(["name": "nets-step", "impl": "ili", "model": model, "features": features, "context": context,
                     "batch": batch, "threads": threads, "median_ms": measured, "steps": steps,
                     "parameters": parameterCount, "final_loss": Double(lastLoss),
                     "flop_floor_ms": floorMs, "times_floor": measured / floorMs])
    }
}
