import ArgumentParser
import ILITensor

/// One training step of an MLP 12 → 50 → 50 → 4 (tanh), batch 200: forward,
/// mean-squared-error loss, backward, Adam update.
struct MLPStepBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mlp-step",
        abstract: "Median milliseconds per MLP training step (forward, loss, backward, Adam)."
    )

    @Option(help: "BLAS threads.") var threads = 1
    @Option(help: "Batch size.") var batch = 200
    @Option(help: "Untimed steps first.") var warmup = 100
    @Option(help: "Timed steps.") var steps = 500
    @Option(help: "Layer widths, comma-separated.") var widths = "12,50,50,4"

    func run() throws {
        BLASConfiguration.threadCount = threads
        let sizes = widths.split(separator: ",").compactMap { Int($0) }
        var rng = RandomSource(seed: 0)
        var layers: [(Parameter<Float>, Parameter<Float>)] = []
        for (fanIn, fanOut) in zip(sizes, sizes.dropFirst()) {
            layers.append((.linearWeight(outputs: fanOut, inputs: fanIn, rng: &rng),
                           .linearBias(outputs: fanOut, inputs: fanIn, rng: &rng)))
        }
        let x: Matrix<Float> = rng.normalMatrix(rows: batch, cols: sizes.first!)
        let y: Matrix<Float> = rng.normalMatrix(rows: batch, cols: sizes.last!)
        var adam = Adam(parameters: layers.flatMap { [$0.0, $0.1] }, learningRate: 1e-3)
        let tape = Tape<Float>()
        var lastLoss: Float = 0

        let samples = timeEach(warmup: warmup, repetitions: steps) {
            tape.reset()
            var h = tape.constant(x)
            for (i, (w, b)) in layers.enumerated() {
                h = h.linear(tape.read(w), bias: tape.read(b))
                if i < layers.count - 1 { h = h.tanh() }
            }
            let loss = (h - tape.constant(y)).square().mean()
            tape.backward(from: loss)
            adam.step()
            lastLoss = loss.value.scalar
        }
        printResult(["name": "mlp-step", "impl": "ili", "threads": threads, "batch": batch,
                     "median_ms": median(samples), "steps": steps, "final_loss": Double(lastLoss)])
    }
}
