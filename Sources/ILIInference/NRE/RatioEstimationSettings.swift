/// Which neural ratio estimation loss trains the classifier, and its constants.
///
/// Defaults are the published ones: 10 atoms for NRE-B, K = 5 and γ = 1 for NRE-C, and
/// λ = 100 for BNRE's balancing penalty.
public struct RatioEstimationSettings: Codable, Sendable, Equatable {
    public enum Variant: String, Codable, Sendable, CaseIterable {
        /// Binary classification of joint (θ, x) pairs against pairs with θ shuffled.
        case a
        /// Atomic: pick the true θ among `atomCount` for each x (a softmax over atoms).
        case b
        /// Contrastive: K + 1 classes, one of which says "every θ is marginal".
        case c
        /// NRE-A with a penalty that keeps the classifier balanced (conservative posteriors).
        case bnre
    }

    public var variant: Variant = .b
    /// NRE-B: θs one x is classified among (the true one and `atomCount − 1` others).
    public var atomCount = 10
    /// NRE-C: K, the θs of each set.
    public var classCount = 5
    /// NRE-C: γ, the prior odds of a set holding the joint pair against none.
    public var gamma = 1.0
    /// BNRE: λ, the weight of the balancing penalty.
    public var balanceStrength = 100.0

    public init(variant: Variant = .b) { self.variant = variant }

    /// Whether the classifier's logit is log p(x | θ) / p(x) itself (A, C, BNRE) or that
    /// plus an unknown function of x (B), which MCMC at one x does not see.
    public var logitIsNormalizedRatio: Bool { variant != .b }
}
