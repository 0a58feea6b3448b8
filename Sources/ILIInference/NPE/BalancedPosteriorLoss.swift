import ILINets
import ILITensor

/// The balanced NPE loss (BNPE): maximum likelihood plus a penalty that keeps the
/// classifier implied by q balanced, which makes the posterior conservative (Delaunoy et
/// al. 2023, "Balancing simulation-based inference for conservative posteriors", the
/// posterior-estimator form of BNRE).
///
/// A posterior density q(θ | x) and the prior p(θ) define a classifier of pairs,
/// d(θ, x) = σ(log q(θ | x) − log p(θ)), which tells joint pairs (θ drawn with its own x)
/// from marginal ones (θ drawn independently of x). It is balanced when
/// E_joint[d] + E_marginal[d] = 1. The exact posterior is balanced, and holding a trained
/// estimator to the condition pushes it away from overconfidence (a tendency the paper
/// shows empirically, not a guarantee of coverage). The loss on a batch of n pairs is
///
///     −mean log q(θᵢ | xᵢ) + λ · (mean d(θᵢ, xᵢ) + mean d(θᵢ₊₁, xᵢ) − 1)²
///
/// with marginal pairs formed as `RatioLoss` and `AtomicPosteriorLoss` form them: xᵢ with
/// the θ of the next row of the batch (cyclically). The squared batch mean couples the
/// rows, so the batch is scored whole. q is the density in θ's own space, the one the
/// posterior reports (its z-scoring is a layer with a log-determinant), before the
/// renormalisation to the prior's support, which training θs, all inside it, do not need.
public enum BalancedPosteriorLoss {
    /// The mean loss over the pairs `rows` of (`theta`, `x`), recorded on `tape` (1×1);
    /// `logPrior` holds log p(θ) of every row of `theta`, `strength` is λ.
    @_specialize(where Scalar == Float)
    public static func loss<Scalar: TensorScalar>(_ estimator: any ConditionalDensityEstimator<Scalar>, theta: Matrix<Scalar>,
                                                 x: Matrix<Scalar>, logPrior: [Scalar], rows: [Int], strength: Double,
                                                 tape: Tape<Scalar>) -> Variable<Scalar> {
        let n = rows.count
        // One row has no other θ to pair its x with: only its likelihood term is defined.
        guard n >= 2 else {
            return -estimator.logProb(tape.constant(theta.rows(at: rows)), context: tape.constant(x.rows(at: rows))).mean()
        }
        var thetaRows: [Int] = [], xRows: [Int] = []
        thetaRows.reserveCapacity(2 * n)
        xRows.reserveCapacity(2 * n)
        var priorTerm = [Scalar](repeating: 0, count: 2 * n)
        for p in 0..<n {
            // Column 0: the joint pair; column 1: xₚ with the next row's θ.
            for (o, row) in [rows[p], rows[(p + 1) % n]].enumerated() {
                thetaRows.append(row)
                xRows.append(rows[p])
                priorTerm[2 * p + o] = logPrior[row]
            }
        }
        let logQ = estimator.logProb(tape.constant(theta.rows(at: thetaRows)), context: tape.constant(x.rows(at: xRows)))
            .reshaped(rows: n, cols: 2)
        let logits = logQ - tape.constant(Matrix(rows: n, cols: 2, priorTerm))
        let balance = logits.column(0).sigmoid().mean() + logits.column(1).sigmoid().mean() - Scalar(1)
        return -logQ.column(0).mean() + balance.square() * Scalar(strength)
    }
}
