import ILITensor
import RealModule

/// The classifier two-sample test: how well a small network tells two samples apart.
///
/// Computed as the standard simulation-based-inference benchmark does: both samples are
/// z-scored with the mean and std of the first (the reference), a classifier with two
/// hidden layers of 10·d ReLU units is trained with Adam (learning rate 1e-3, batches of
/// 200, L2 penalty 1e-4, stopping when the training loss has not improved by 1e-4 for 10
/// epochs), and the accuracy is averaged over 5 shuffled cross-validation folds. 0.5 means
/// indistinguishable, 1.0 perfectly separable.
///
/// ```swift
/// let score = C2ST.accuracy(reference: exactSamples, candidate: posteriorSamples, seed: 1)
/// ```
public enum C2ST {
    public static func accuracy(reference: Matrix<Double>, candidate: Matrix<Double>,
                                folds: Int = 5, seed: UInt64 = 1, maxEpochs: Int = 500) -> Double {
        precondition(reference.cols == candidate.cols, "C2ST of samples of width \(reference.cols) and \(candidate.cols)")
        precondition(reference.rows >= folds && candidate.rows >= folds, "C2ST needs at least \(folds) samples of each")
        let d = reference.cols
        let (mean, std) = columnMeanAndStd(reference)
        let standardized = Matrix<Float>(rows: reference.rows + candidate.rows, cols: d) { i, j in
            let x = i < reference.rows ? reference[i, j] : candidate[i - reference.rows, j]
            return Float((x - mean[j]) / std[j])
        }
        let labels = (0..<standardized.rows).map { $0 < reference.rows ? Float(0) : Float(1) }

        var rng = RandomSource(seed: seed)
        let order = rng.permutation(standardized.rows)
        var correct = 0.0
        var total = 0.0
        for fold in 0..<folds {
            let testIndices = order.enumerated().filter { $0.offset % folds == fold }.map(\.element)
            let trainIndices = order.enumerated().filter { $0.offset % folds != fold }.map(\.element)
            var foldRNG = rng.split()
            let classifier = BinaryClassifier(inputs: d, hidden: 10 * d, rng: &foldRNG)
            classifier.train(standardized.rows(at: trainIndices), labels: trainIndices.map { labels[$0] },
                             maxEpochs: maxEpochs, rng: &foldRNG)
            let logits = classifier.logits(standardized.rows(at: testIndices))
            for (k, i) in testIndices.enumerated() where (logits[k] > 0) == (labels[i] == 1) { correct += 1 }
            // Folds differ in size by at most one; weighting by size equals averaging per fold up to that.
            total += Double(testIndices.count)
        }
        return correct / total
    }

    static func columnMeanAndStd(_ m: Matrix<Double>) -> ([Double], [Double]) {
        let n = Double(m.rows)
        var mean = [Double](repeating: 0, count: m.cols)
        var std = [Double](repeating: 0, count: m.cols)
        for i in 0..<m.rows { for j in 0..<m.cols { mean[j] += m[i, j] / n } }
        for i in 0..<m.rows { for j in 0..<m.cols { std[j] += (m[i, j] - mean[j]) * (m[i, j] - mean[j]) } }
        // The sample std (n − 1), as the benchmark's z-scoring uses; constant columns keep scale 1.
        std = std.map { s in let v = (s / Swift.max(n - 1, 1)).squareRoot(); return v > 0 ? v : 1 }
        return (mean, std)
    }
}

/// A two-hidden-layer ReLU network with one logit, trained with binary cross-entropy.
final class BinaryClassifier {
    let network: MultilayerPerceptron<Float>

    init(inputs: Int, hidden: Int, rng: inout RandomSource) {
        network = MultilayerPerceptron(widths: [inputs, hidden, hidden, 1], activation: .relu, rng: &rng, name: "c2st")
    }

    func forward(_ x: Variable<Float>) -> Variable<Float> { network(x) }

    func logits(_ x: Matrix<Float>) -> [Float] {
        let tape = Tape<Float>(recordsGradients: false)
        return forward(tape.constant(x)).value.storage
    }

    func train(_ x: Matrix<Float>, labels: [Float], maxEpochs: Int, batchSize: Int = 200,
               tolerance: Double = 1e-4, patience: Int = 10, rng: inout RandomSource) {
        let n = x.rows
        let batch = Swift.min(batchSize, n)
        let weights = network.layers.map(\.weight)
        var adam = Adam(parameters: network.parameters, learningRate: 1e-3)
        let alpha: Float = 1e-4
        var best = Double.infinity
        var stale = 0
        let tape = Tape<Float>()
        for _ in 0..<maxEpochs {
            let order = rng.permutation(n)
            var epochLoss = 0.0
            var start = 0
            while start < n {
                let idx = Array(order[start..<Swift.min(start + batch, n)])
                start += batch
                tape.reset()
                let logit = forward(tape.constant(x.rows(at: idx)))
                let y = tape.constant(Matrix(rows: idx.count, cols: 1, idx.map { labels[$0] }))
                // BCE with logits: softplus(z) − y·z.
                let loss = (logit.softplus() - y * logit).mean()
                tape.backward(from: loss)
                // The L2 penalty ½α‖W‖² per batch, added to the weight gradients as the reference does.
                for w in weights {
                    w.gradient!.add(w.value, scaledBy: alpha / Float(idx.count))
                }
                adam.step()
                epochLoss += Double(loss.value.scalar) * Double(idx.count)
            }
            epochLoss /= Double(n)
            if epochLoss > best - tolerance { stale += 1 } else { stale = 0 }
            best = Swift.min(best, epochLoss)
            if stale >= patience { break }
        }
    }
}
