import RealModule

/// The chi-square distribution's upper tail, through the regularized incomplete gamma function.
///
/// ```swift
/// let p = ChiSquare.survival(20, degreesOfFreedom: 9)   // 0.0179
/// ```
public enum ChiSquare {
    /// P(X > x) for X ~ χ²(k).
    public static func survival(_ x: Double, degreesOfFreedom k: Int) -> Double {
        precondition(k > 0, "a chi-square distribution needs at least one degree of freedom, got \(k)")
        guard x > 0 else { return 1 }
        return IncompleteGamma.upperRegularized(Double(k) / 2, x / 2)
    }

    /// The statistic Σ (observed − expected)² / expected and its p-value with `bins − 1`
    /// degrees of freedom (the expected counts sum to the observed total).
    public static func goodnessOfFit(observed: [Int], expected: [Double]) -> (statistic: Double, pValue: Double) {
        precondition(observed.count == expected.count && observed.count >= 2,
                     "a goodness-of-fit test needs matching observed and expected counts in two or more bins")
        var statistic = 0.0
        for (o, e) in zip(observed, expected) where e > 0 {
            statistic += (Double(o) - e) * (Double(o) - e) / e
        }
        return (statistic, survival(statistic, degreesOfFreedom: observed.count - 1))
    }
}

/// The regularized incomplete gamma functions P(a, x) and Q(a, x) = 1 − P(a, x).
///
/// A power series where it converges fast (x < a + 1) and a continued fraction elsewhere,
/// so that each is computed directly rather than as one minus the other, keeping small
/// tails accurate.
///
/// ```swift
/// IncompleteGamma.upperRegularized(2, 3.75)   // χ²(4) tail at 7.5
/// ```
public enum IncompleteGamma {
    public static func lowerRegularized(_ a: Double, _ x: Double) -> Double {
        precondition(a > 0, "the incomplete gamma function needs a > 0, got \(a)")
        if x <= 0 { return 0 }
        return x < a + 1 ? series(a, x) : 1 - continuedFraction(a, x)
    }

    public static func upperRegularized(_ a: Double, _ x: Double) -> Double {
        precondition(a > 0, "the incomplete gamma function needs a > 0, got \(a)")
        if x <= 0 { return 1 }
        return x < a + 1 ? 1 - series(a, x) : continuedFraction(a, x)
    }

    /// e^{−x} x^a / Γ(a), the factor both expansions share.
    static func prefactor(_ a: Double, _ x: Double) -> Double {
        Double.exp(a * Double.log(x) - x - Double.logGamma(a))
    }

    /// P(a, x) = prefactor · Σₙ xⁿ / (a (a+1) … (a+n)).
    static func series(_ a: Double, _ x: Double) -> Double {
        var term = 1 / a
        var sum = term
        var denominator = a
        for _ in 0..<10_000 {
            denominator += 1
            term *= x / denominator
            sum += term
            if Swift.abs(term) < Swift.abs(sum) * 1e-16 { break }
        }
        return sum * prefactor(a, x)
    }

    /// Q(a, x) by the modified Lentz evaluation of its continued fraction.
    static func continuedFraction(_ a: Double, _ x: Double) -> Double {
        let tiny = 1e-300
        var b = x + 1 - a
        var c = 1 / tiny
        var d = 1 / b
        var h = d
        for i in 1..<10_000 {
            let an = -Double(i) * (Double(i) - a)
            b += 2
            d = an * d + b
            if Swift.abs(d) < tiny { d = tiny }
            c = b + an / c
            if Swift.abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            h *= delta
            if Swift.abs(delta - 1) < 1e-16 { break }
        }
        return h * prefactor(a, x)
    }
}
