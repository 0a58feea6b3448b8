import RealModule

/// The one-sample Kolmogorov–Smirnov test against the uniform distribution on [0, 1].
///
/// The p-value is the exact finite-sample tail of the statistic for up to 1000 values
/// (Marsaglia, Tsang and Wang's matrix-power form of the distribution), and the
/// Kolmogorov limit with Stephens' small-sample correction above that, where the two agree
/// to a few parts in a thousand.
///
/// ```swift
/// let test = KolmogorovSmirnov.uniformity([0.1, 0.2, 0.35, 0.4, 0.9])
/// // test.statistic == 0.4, test.pValue ≈ 0.309
/// ```
public enum KolmogorovSmirnov {
    public struct Result: Sendable, Codable, Equatable {
        /// The largest distance between the empirical and the uniform CDF.
        public var statistic: Double
        public var pValue: Double
    }

    public static func uniformity(_ values: [Double]) -> Result {
        precondition(!values.isEmpty, "a Kolmogorov–Smirnov test needs at least one value")
        let sorted = values.sorted()
        let n = Double(sorted.count)
        var d = 0.0
        for (i, u) in sorted.enumerated() {
            let cdf = Swift.min(Swift.max(u, 0), 1)
            d = Swift.max(d, Double(i + 1) / n - cdf, cdf - Double(i) / n)
        }
        return Result(statistic: d, pValue: survival(d, sampleSize: sorted.count))
    }

    /// P(Dₙ > d) for the statistic of n uniform values.
    public static func survival(_ d: Double, sampleSize n: Int) -> Double {
        precondition(n > 0, "the Kolmogorov–Smirnov distribution needs n > 0")
        if d <= 0 { return 1 }
        if d >= 1 { return 0 }
        let s = d * d * Double(n)
        // Deep in the tail the exact form loses everything to cancellation; this is its
        // own published shortcut there, accurate to the digits that matter.
        if s > 7.24 || (s > 3.76 && n > 99) {
            let rootN = Double(n).squareRoot()
            return Swift.min(1, 2 * Double.exp(-(2.000071 + 0.331 / rootN + 1.409 / Double(n)) * s))
        }
        if n > 1000 {
            let rootN = Double(n).squareRoot()
            return kolmogorovLimitSurvival((rootN + 0.12 + 0.11 / rootN) * d)
        }
        return Swift.min(1, Swift.max(0, 1 - exactCDF(d, n)))
    }

    /// The limiting tail P(K > t) = 2 Σ (−1)^{k−1} e^{−2k²t²}.
    static func kolmogorovLimitSurvival(_ t: Double) -> Double {
        if t < 0.2 { return 1 }
        var sum = 0.0
        for k in 1...100 {
            let term = Double.exp(-2 * Double(k * k) * t * t)
            sum += (k % 2 == 1 ? term : -term)
            if term < 1e-17 { break }
        }
        return Swift.min(1, Swift.max(0, 2 * sum))
    }

    /// P(Dₙ < d) as the (k, k) element of Hⁿ scaled by n!/nⁿ, H the (2k−1)-square matrix
    /// of the method, k = ⌊nd⌋ + 1. Powers keep a separate decimal exponent so that
    /// nothing overflows for n up to a thousand.
    static func exactCDF(_ d: Double, _ n: Int) -> Double {
        let k = Int(Double(n) * d) + 1
        let m = 2 * k - 1
        let h = Double(k) - Double(n) * d
        var matrix = [Double](repeating: 0, count: m * m)
        for i in 0..<m {
            for j in 0..<m where i - j + 1 >= 0 { matrix[i * m + j] = 1 }
        }
        for i in 0..<m {
            matrix[i * m] -= Double.pow(h, i + 1)
            matrix[(m - 1) * m + i] -= Double.pow(h, m - i)
        }
        if 2 * h - 1 > 0 { matrix[(m - 1) * m] += Double.pow(2 * h - 1, m) }
        for i in 0..<m {
            for j in 0..<m where i - j + 1 > 0 {
                for g in 1...(i - j + 1) { matrix[i * m + j] /= Double(g) }
            }
        }
        let (power, exponent) = scaledPower(matrix, size: m, n)
        var s = power[(k - 1) * m + k - 1]
        var e = exponent
        for i in 1...n {
            s *= Double(i) / Double(n)
            if s < 1e-140 { s *= 1e140; e -= 140 }
        }
        return s * Double.pow(10, Double(e))
    }

    /// (value, decimal exponent) with matrix^n = value · 10^exponent.
    static func scaledPower(_ a: [Double], size m: Int, _ n: Int) -> ([Double], Int) {
        if n == 1 { return (a, 0) }
        let (half, halfExponent) = scaledPower(a, size: m, n / 2)
        var result = multiply(half, half, m)
        var exponent = 2 * halfExponent
        if n % 2 == 1 { result = multiply(a, result, m) }
        if result[(m / 2) * m + m / 2] > 1e140 {
            for i in 0..<result.count { result[i] *= 1e-140 }
            exponent += 140
        }
        return (result, exponent)
    }

    static func multiply(_ a: [Double], _ b: [Double], _ m: Int) -> [Double] {
        var c = [Double](repeating: 0, count: m * m)
        for i in 0..<m {
            for l in 0..<m {
                let ail = a[i * m + l]
                if ail == 0 { continue }
                for j in 0..<m { c[i * m + j] += ail * b[l * m + j] }
            }
        }
        return c
    }
}
