import ILINets
import RealModule

/// Ratio classifiers mixed with fixed weights: r(θ, x) = Σₖ wₖ exp fₖ(θ, x).
///
/// With NRE-A, C and BNRE each member's exp fₖ estimates p(x | θ) / p(x), so each rₖ p(θ)
/// is a posterior and the mixture of ratios is the mixture of those posteriors, the same
/// rule as for densities. (NRE-B's logits carry an unknown function of x per member, so
/// NRE-B trains one member only.) Weights are the softmax of each member's best validation
/// score, the negated mean loss: for A, B and C a log-likelihood of the classification
/// labels in nats per pair; for BNRE that plus its balancing penalty.
public final class RatioEnsemble {
    public let members: [RatioClassifier<Float>]
    public let weights: [Double]

    public init(members: [RatioClassifier<Float>], weights: [Double]) {
        precondition(!members.isEmpty && members.count == weights.count, "an ensemble needs one weight per member")
        let total = weights.reduce(0, +)
        self.members = members
        self.weights = weights.map { $0 / total }
    }

    public var parameterCount: Int { members[0].configuration.parameterCount }
    public var dataCount: Int { members[0].configuration.dataCount }

    /// log r(θᵢ, xᵢ) for each row pair.
    public func logRatio(theta: Matrix<Float>, x: Matrix<Float>) -> [Double] {
        let tape = Tape<Float>(recordsGradients: false)
        let perMember = members.map { $0.logit(tape.constant(theta), tape.constant(x)).value.storage }
        if members.count == 1 { return perMember[0].map(Double.init) }
        let logWeights = weights.map { Double.log($0) }
        return (0..<theta.rows).map { i in
            var top = -Double.infinity
            for k in members.indices { top = Swift.max(top, Double(perMember[k][i]) + logWeights[k]) }
            guard top.isFinite else { return top }
            var total = 0.0
            for k in members.indices { total += Double.exp(Double(perMember[k][i]) + logWeights[k] - top) }
            return top + Double.log(total)
        }
    }
}
