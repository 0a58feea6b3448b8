import ILINets
import RealModule

/// Conditional density estimators mixed with fixed weights: q(y | c) = Σₖ wₖ qₖ(y | c).
///
/// Weights are the softmax of each member's best validation log-probability, so a member
/// that generalises worse by one nat per sample gets e⁻¹ times the weight.
public final class DensityEnsemble {
    public let members: [any ConditionalDensityEstimator<Float>]
    public let weights: [Double]

    public init(members: [any ConditionalDensityEstimator<Float>], weights: [Double]) {
        precondition(!members.isEmpty && members.count == weights.count, "an ensemble needs one weight per member")
        let total = weights.reduce(0, +)
        self.members = members
        self.weights = weights.map { $0 / total }
    }

    /// Softmax weights from validation scores (mean log-probabilities).
    public static func weights(fromValidationScores scores: [Double]) -> [Double] {
        let top = scores.max() ?? 0
        let e = scores.map { Double.exp($0 - top) }
        let total = e.reduce(0, +)
        return e.map { $0 / total }
    }

    public var featureCount: Int { members[0].featureCount }
    public var contextCount: Int { members[0].contextCount }

    /// log q(yᵢ | cᵢ) for each row pair, as plain numbers.
    public func logProb(_ y: Matrix<Float>, context: Matrix<Float>) -> [Double] {
        let tape = Tape<Float>(recordsGradients: false)
        return logProb(tape.constant(y), context: tape.constant(context)).value.storage.map(Double.init)
    }

    /// log Σₖ wₖ qₖ(y | c) on a tape (m×1), differentiable in y for MAP search.
    public func logProb(_ y: Variable<Float>, context: Variable<Float>) -> Variable<Float> {
        if members.count == 1 { return members[0].logProb(y, context: context) }
        let tape = y.tape
        let perMember = members.map { $0.logProb(y, context: context) }
        let logWeights = tape.constant(Matrix(rows: 1, cols: members.count, weights.map { Float(Double.log($0)) }))
        return (tape.concatColumns(perMember) + logWeights).logSumExpEachRow()
    }

    /// `count` draws for each context row, members chosen by weight; rows of one context
    /// are shuffled so that no block comes from one member.
    public func sample(_ count: Int, context: Matrix<Float>, rng: inout RandomSource) -> Matrix<Float> {
        if members.count == 1 { return members[0].sample(count, context: context, rng: &rng) }
        var perMember = [Int](repeating: 0, count: members.count)
        for _ in 0..<count { perMember[rng.categorical(weights)] += 1 }
        let d = featureCount
        // Member k's draws hold n_k rows per context, context-major. For each context, list
        // where its `count` rows live, shuffle that list, and copy the rows in that order.
        var sources: [(block: Matrix<Float>, perContext: Int)] = []
        for (k, n) in perMember.enumerated() where n > 0 {
            sources.append((members[k].sample(n, context: context, rng: &rng), n))
        }
        var out = Matrix<Float>(rows: context.rows * count, cols: d, repeating: 0)
        for i in 0..<context.rows {
            let rows = sources.indices.flatMap { s in (0..<sources[s].perContext).map { (s, i * sources[s].perContext + $0) } }
            for (slot, r) in rng.permutation(count).enumerated() {
                let (s, row) = rows[r]
                for j in 0..<d { out[i * count + slot, j] = sources[s].block[row, j] }
            }
        }
        return out
    }
}
