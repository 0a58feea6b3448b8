import ILINets
import ILITensor

/// The atomic loss of automatic posterior transformation (APT, "SNPE-C"), which lets NPE
/// learn from θs drawn from any proposal.
///
/// For a batch of n pairs, each xᵢ is given `atoms` candidate θs: its own and those of the
/// next rows of the batch (cyclically, as `RatioLoss` contrasts). The proposal posterior
/// over that set is q̃(θⱼ | xᵢ) ∝ q(θⱼ | xᵢ) / p(θⱼ), and the loss is −log q̃ of the true θ,
/// averaged over the batch. Its minimum is reached when q is the true posterior, whatever
/// distribution the θs came from. Training batches are reshuffled every epoch, so the
/// atoms are fresh random draws; validation batches keep their order.
public enum AtomicPosteriorLoss {
    /// The mean loss over the pairs `rows` of (`theta`, `x`); `logPrior` holds log p(θ) of
    /// every row of `theta`.
    public static func loss(_ estimator: any ConditionalDensityEstimator<Float>, theta: Matrix<Float>, x: Matrix<Float>,
                            logPrior: [Float], rows: [Int], atoms: Int, tape: Tape<Float>) -> Variable<Float> {
        let n = rows.count
        let m = min(atoms, n)
        guard m >= 2 else { return tape.constant(Matrix(scalar: 0)) }
        var thetaRows: [Int] = [], xRows: [Int] = []
        thetaRows.reserveCapacity(n * m)
        xRows.reserveCapacity(n * m)
        var priorTerm = [Float](repeating: 0, count: n * m)
        for p in 0..<n {
            for o in 0..<m {
                let row = rows[(p + o) % n]
                thetaRows.append(row)
                xRows.append(rows[p])
                priorTerm[p * m + o] = logPrior[row]
            }
        }
        let logQ = estimator.logProb(tape.constant(theta.rows(at: thetaRows)), context: tape.constant(x.rows(at: xRows)))
            .reshaped(rows: n, cols: m)
        let logits = logQ - tape.constant(Matrix(rows: n, cols: m, priorTerm))
        return -logits.logSoftmaxEachRow().column(0).mean()
    }
}
