import ArgumentParser
import Foundation
import ILINets

/// Log-probabilities and gradients of a saved density estimator on given rows, for
/// comparing ili's networks with a peer's on the same weights (Benchmarks/npe/parity.py).
struct FlowParityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flow-parity",
        abstract: "Per-row log-prob, the gradient of the mean log-prob, and one clipped Adam step of a saved estimator."
    )

    @Option(help: "Model directory (model.safetensors, config.json).") var model: String
    @Option(help: "θ rows (.npy).") var theta: String
    @Option(help: "x rows (.npy).") var x: String
    @Option(help: "Output directory.") var out: String
    @Option(help: "Adam learning rate of the step.") var learningRate: Double = 5e-4
    @Option(help: "Adam steps to take on the same batch.") var steps = 1
    @Option(help: "Also save a freshly initialised model of the same configuration here (for parity.py --ili-init).") var initOut: String?

    func run() throws {
        let estimator = try loadDensityEstimator(from: model, as: Float.self)
        if let initOut {
            var rng = RandomSource(seed: 1)
            let fresh: any ConditionalDensityEstimator<Float> = try makeDensityEstimator(estimator.configuration, rng: &rng)
            try fresh.save(to: initOut)
        }
        let t = try NPYFile.read(theta).matrix(as: Float.self)
        let c = try NPYFile.read(x).matrix(as: Float.self)
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let tape = Tape<Float>()
        let lp = estimator.logProb(tape.constant(t), context: tape.constant(c))
        try NPYFile.write(lp.value, to: out + "/log_prob.npy")
        let mean = lp.mean()
        let initialMean = mean.value.scalar
        tape.backward(from: -mean)
        var grads: [String: Matrix<Float>] = [:]
        for p in estimator.parameters { grads[p.name] = p.gradient ?? Matrix(rows: p.value.rows, cols: p.value.cols, repeating: 0) }
        try SafeTensors<Float>(tensors: grads).write(to: out + "/grad.safetensors")
        var adam = Adam(parameters: estimator.parameters, learningRate: Float(learningRate))
        let norm = clipGradientNorm(estimator.parameters, maxNorm: 5)
        adam.step()
        for _ in 1..<max(steps, 1) {
            tape.reset()
            tape.backward(from: -estimator.logProb(tape.constant(t), context: tape.constant(c)).mean())
            clipGradientNorm(estimator.parameters, maxNorm: 5)
            adam.step()
        }
        var after: [String: Matrix<Float>] = [:]
        for p in estimator.parameters { after[p.name] = p.value }
        try SafeTensors<Float>(tensors: after).write(to: out + "/after.safetensors")
        tape.reset()
        let final = estimator.logProb(tape.constant(t), context: tape.constant(c)).mean().value.scalar
        print("{\"mean_log_prob\": \(initialMean), \"grad_norm\": \(norm), \"mean_log_prob_after\": \(final)}")
    }
}
