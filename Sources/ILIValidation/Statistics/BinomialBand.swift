import RealModule

/// The range a coverage fraction falls in by chance when the posterior is calibrated.
///
/// With n test points and a credible level γ, the number of truths inside their regions is
/// Binomial(n, γ); the band is its central `confidence` interval divided by n.
///
/// ```swift
/// let band = BinomialBand.interval(trials: 100, probability: 0.5, confidence: 0.99)
/// // (0.37, 0.63)
/// ```
public enum BinomialBand {
    public static func interval(trials n: Int, probability p: Double, confidence: Double) -> (lower: Double, upper: Double) {
        precondition(n > 0, "a binomial band needs at least one trial")
        precondition(confidence > 0 && confidence < 1, "the band's confidence must lie in (0, 1), got \(confidence)")
        let tail = (1 - confidence) / 2
        return (Double(quantile(tail, trials: n, probability: p)) / Double(n),
                Double(quantile(1 - tail, trials: n, probability: p)) / Double(n))
    }

    /// The smallest k with P(K ≤ k) ≥ q for K ~ Binomial(n, p).
    public static func quantile(_ q: Double, trials n: Int, probability p: Double) -> Int {
        if p <= 0 { return 0 }
        if p >= 1 { return n }
        let logP = Double.log(p), logQ = Double.log(1 - p)
        let logNFactorial = Double.logGamma(Double(n) + 1)
        var cumulative = 0.0
        for k in 0...n {
            let logPMF = logNFactorial - Double.logGamma(Double(k) + 1) - Double.logGamma(Double(n - k) + 1)
                + Double(k) * logP + Double(n - k) * logQ
            cumulative += Double.exp(logPMF)
            // The relative slack absorbs rounding in the running sum, as a ≥ test on exact
            // quantiles like q = 0.5 would otherwise step one too far.
            if cumulative >= q * (1 - 1e-12) { return k }
        }
        return n
    }
}
