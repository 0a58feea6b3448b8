import ArgumentParser
import ILIInference
import ILINets

/// One NRE-B training step of the default ratio classifier at sbi's sizes: the training
/// loss (`RatioLoss`: a batch's pairs against its atoms, atomic cross-entropy), backward,
/// Adam update.
struct RatioStepBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ratio-step",
        abstract: "Median milliseconds per NRE-B classifier training step (logits, atomic loss, backward, Adam)."
    )

    @Option(help: "Dimension of θ.") var parameters = 2
    @Option(help: "Dimension of x.") var data = 2
    @Option(help: "Batch size.") var batch = 200
    @Option(help: "Atoms per pair (the pair itself and atoms - 1 contrasting θs).") var atoms = 10
    @Option(help: "resnet or mlp.") var model = "resnet"
    @Option(help: "BLAS threads.") var threads = 1
    @Option(help: "Untimed steps first.") var warmup = 50
    @Option(help: "Timed steps.") var steps = 300

    func run() throws {
        BLASConfiguration.threadCount = threads
        guard let architecture = ClassifierConfiguration.Architecture(rawValue: model == "resnet" ? "residual" : model) else {
            throw ValidationError("unknown model \(model); use resnet or mlp")
        }
        var rng = RandomSource(seed: 0)
        let classifier = RatioClassifier<Float>(
            configuration: .init(architecture: architecture, parameterCount: parameters, dataCount: data), rng: &rng)
        let theta: Matrix<Float> = rng.normalMatrix(rows: batch, cols: parameters)
        let x: Matrix<Float> = rng.normalMatrix(rows: batch, cols: data)
        classifier.fitStandardization(parameters: theta, data: x)
        var settings = RatioEstimationSettings()
        settings.atomCount = atoms
        var adam = Adam(parameters: classifier.parameters, learningRate: 5e-4)
        let tape = Tape<Float>()
        var lastLoss: Float = 0
        let samples = timeEach(warmup: warmup, repetitions: steps) {
            tape.reset()
            let loss = RatioLoss.loss(settings, classifier: classifier, theta: theta, x: x, tape: tape)
            tape.backward(from: loss)
            adam.step()
            lastLoss = loss.value.scalar
        }
        let parameterCount = classifier.parameters.reduce(0) { $0 + $1.value.count }
        printResult(["name": "ratio-step", "impl": "ili", "model": model, "parameters": parameters, "data": data,
                     "batch": batch, "atoms": atoms, "blas_threads": threads, "row_threads": RowParallelism.width, "median_ms": median(samples), "steps": steps,
                     "weights": parameterCount, "final_loss": Double(lastLoss)])
    }
}
