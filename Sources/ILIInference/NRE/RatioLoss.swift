import ILINets
import ILITensor
import RealModule

/// The training loss of each NRE variant on one batch, as a mean per pair (lower is better):
/// what `NeuralRatioEstimation.train` minimises, for loops of one's own and benchmarks.
///
/// Contrasting θs come from the same batch: row p is compared with the θs of rows p + 1,
/// p + 2, … (cyclically). Training batches are reshuffled every epoch, so these are fresh
/// random marginal draws; validation batches keep their order, so the validation loss is
/// the same function at every epoch and early stopping compares like with like.
public enum RatioLoss {
    /// The mean loss over the batch of pairs (`theta`, `x`), recorded on `tape` (1×1).
    @_specialize(where Scalar == Float)
    public static func loss<Scalar: TensorScalar>(_ settings: RatioEstimationSettings, classifier: RatioClassifier<Scalar>,
                                           theta: Matrix<Scalar>, x: Matrix<Scalar>, tape: Tape<Scalar>) -> Variable<Scalar> {
        let batch = theta.rows
        // One row has no other θ to contrast with: nothing to learn from it.
        guard batch >= 2 else { return tape.constant(Matrix(scalar: 0)) }
        switch settings.variant {
        case .a, .bnre:
            // Column 0: the joint pair; column 1: x with the next row's θ.
            let logits = pairLogits(classifier, theta: theta, x: x, offsets: [0, 1], tape: tape)
            let joint = logits.column(0), marginal = logits.column(1)
            // Binary cross-entropy with labels 1 (joint) and 0 (marginal), averaged over both.
            var loss = -(joint.logSigmoid().mean() + (-marginal).logSigmoid().mean()) * Scalar(0.5)
            if settings.variant == .bnre {
                let balance = joint.sigmoid().mean() + marginal.sigmoid().mean() - Scalar(1)
                loss = loss + balance.square() * Scalar(settings.balanceStrength)
            }
            return loss
        case .b:
            let atoms = min(settings.atomCount, batch)
            let logits = pairLogits(classifier, theta: theta, x: x, offsets: Array(0..<atoms), tape: tape)
            return -logits.logSoftmaxEachRow().column(0).mean()
        case .c:
            let k = min(settings.classCount, batch - 1)
            // Offsets 0..<k form the set holding the joint pair (at 0); 1...k the all-marginal set.
            let logits = pairLogits(classifier, theta: theta, x: x, offsets: Array(0...k), tape: tape)
            let gamma = settings.gamma
            let logK = tape.constant(Matrix(rows: batch, cols: 1, repeating: Scalar(Double.log(Double(k)))))
            let jointSet = logits.columns(0..<k) + Scalar(Double.log(gamma))
            let marginalSet = logits.columns(1..<(k + 1)) + Scalar(Double.log(gamma))
            // log q(joint at 0 | set) = log γ + f₀ − log(K + γ Σ eᶠ); log q(none | set) = log K − log(K + γ Σ eᶠ).
            let logJoint = jointSet.column(0) - tape.concatColumns([logK, jointSet]).logSumExpEachRow()
            let logNone = logK - tape.concatColumns([logK, marginalSet]).logSumExpEachRow()
            let pJoint = gamma / (1 + gamma), pNone = 1 / (1 + gamma)
            return -(logJoint.mean() * Scalar(pJoint) + logNone.mean() * Scalar(pNone))
        }
    }

    /// Logits of (θ of row (p + offset) mod n, x of row p) for every row p and offset, as an
    /// n × offsets.count matrix, from one call of the classifier.
    @_specialize(where Scalar == Float)
    static func pairLogits<Scalar: TensorScalar>(_ classifier: RatioClassifier<Scalar>, theta: Matrix<Scalar>, x: Matrix<Scalar>,
                                                 offsets: [Int], tape: Tape<Scalar>) -> Variable<Scalar> {
        let n = theta.rows, m = offsets.count
        var thetaRows: [Int] = [], xRows: [Int] = []
        thetaRows.reserveCapacity(n * m)
        xRows.reserveCapacity(n * m)
        for p in 0..<n {
            for offset in offsets {
                thetaRows.append((p + offset) % n)
                xRows.append(p)
            }
        }
        let logits = classifier.logit(tape.constant(theta.rows(at: thetaRows)), tape.constant(x.rows(at: xRows)))
        return logits.reshaped(rows: n, cols: m)
    }
}
