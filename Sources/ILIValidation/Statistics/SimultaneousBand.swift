import RealModule

/// A band around the ideal coverage curve that the curve of a calibrated posterior stays
/// inside at every credible level at once, with a chosen probability.
///
/// A coverage curve counts, at each level k, the test points whose event holds (truth inside
/// the level-k region). The events are nested (a larger level's region contains a smaller
/// one's), so the counts are cumulative: under calibration the first is Binomial(n, p₁) and
/// each next one adds Binomial(n − Cₖ₋₁, (pₖ − pₖ₋₁)/(1 − pₖ₋₁)) more. Bands made of
/// pointwise binomial intervals are each left with a small probability, but the curve leaves
/// one of 19 of them far more often. This band is made of pointwise equal-tailed intervals
/// narrowed or widened together until the probability of staying inside all of them,
/// computed exactly by running the cumulative count through the levels, is the confidence
/// asked for; the same way of adjusting the pointwise level as for ECDF bands in the SBC
/// literature, with an exact rather than simulated probability.
///
/// ```swift
/// let band = SimultaneousBand.band(trials: 200, probabilities: [0.25, 0.5, 0.75], confidence: 0.99)
/// band.lower[1]...band.upper[1]     // counts at level ½ that do not fail the check
/// band.coverage                      // ≥ 0.99: the chance a calibrated curve stays inside
/// ```
public enum SimultaneousBand {
    public struct Band: Sendable, Equatable {
        /// Per level, the fewest and most counts inside the band (inclusive).
        public var lower: [Int]
        public var upper: [Int]
        /// The per-level confidence of the equal-tailed binomial intervals that make the band.
        public var pointwiseConfidence: Double
        /// The exact probability that a calibrated posterior's counts stay inside at every level.
        public var coverage: Double
    }

    /// The band whose simultaneous coverage is at least `confidence` and as close to it as
    /// the discrete counts allow, for counts of `n` trials whose events at the levels have
    /// the probabilities `probabilities` under calibration (nondecreasing: nested events).
    public static func band(trials n: Int, probabilities p: [Double], confidence: Double) -> Band {
        precondition(n > 0, "a coverage band needs at least one trial")
        precondition(confidence > 0 && confidence < 1, "the band's confidence must lie in (0, 1), got \(confidence)")
        precondition(zip(p, p.dropFirst()).allSatisfy { $0 <= $1 } && p.allSatisfy { $0 >= 0 && $0 <= 1 },
                     "the levels' probabilities must be nondecreasing in [0, 1] (nested events)")
        let table = LogFactorials(n)
        let cdfs = p.map { table.binomialCDF(n, $0) }
        func intervals(tail: Double) -> (lower: [Int], upper: [Int]) {
            (cdfs.map { quantile($0, tail / 2) }, cdfs.map { quantile($0, 1 - tail / 2) })
        }
        func inside(_ tail: Double) -> Double {
            let (lower, upper) = intervals(tail: tail)
            return probabilityInside(n, p, lower, upper, table)
        }
        // The simultaneous coverage falls as the pointwise tail grows. Search the tail's
        // logarithm between one so small that the band holds every count that has any
        // probability worth counting and the whole 1 − confidence, beyond which even a
        // single level's interval would hold the curve less often than asked.
        var good = 1e-15, bad = 1 - confidence
        if inside(bad) >= confidence {
            good = bad
        } else {
            for _ in 0..<60 where bad / good > 1 + 1e-6 {
                let middle = (good * bad).squareRoot()
                if inside(middle) >= confidence { good = middle } else { bad = middle }
            }
        }
        let (lower, upper) = intervals(tail: good)
        return Band(lower: lower, upper: upper, pointwiseConfidence: 1 - good,
                    coverage: probabilityInside(n, p, lower, upper, table))
    }

    /// The exact probability that the cumulative counts stay within [lower, upper] at every
    /// level under calibration.
    public static func probabilityInside(trials n: Int, probabilities p: [Double], lower: [Int], upper: [Int]) -> Double {
        precondition(p.count == lower.count && p.count == upper.count, "one interval per level")
        precondition(zip(p, p.dropFirst()).allSatisfy { $0 <= $1 }, "the levels' probabilities must be nondecreasing (nested events)")
        return probabilityInside(n, p, lower, upper, LogFactorials(n))
    }

    /// The smallest k with cdf[k] ≥ q (the slack absorbs rounding in the running sums).
    static func quantile(_ cdf: [Double], _ q: Double) -> Int {
        var low = 0, high = cdf.count - 1
        while low < high {
            let middle = (low + high) / 2
            if cdf[middle] >= q * (1 - 1e-12) { high = middle } else { low = middle + 1 }
        }
        return low
    }

    /// Runs the distribution of the cumulative count through the levels, dropping what
    /// leaves a level's interval, and returns the mass that is left.
    static func probabilityInside(_ n: Int, _ p: [Double], _ lower: [Int], _ upper: [Int], _ table: LogFactorials) -> Double {
        var mass = [Double](repeating: 0, count: n + 1)
        mass[0] = 1
        var reachable = 0...0
        var previous = 0.0
        for k in p.indices {
            let low = Swift.max(lower[k], 0), high = Swift.min(upper[k], n)
            guard low <= high else { return 0 }
            // The chance that a point outside the level-(k−1) region is inside level k's.
            let q = previous >= 1 ? 0 : Swift.min(1, Swift.max(0, (p[k] - previous) / (1 - previous)))
            var next = [Double](repeating: 0, count: n + 1)
            for c in reachable where mass[c] > 0 {
                let remaining = n - c
                guard Swift.max(low, c) <= Swift.min(high, n) else { continue }
                for target in Swift.max(low, c)...Swift.min(high, n) {
                    next[target] += mass[c] * table.binomialPMF(remaining, target - c, q)
                }
            }
            mass = next
            reachable = low...high
            previous = p[k]
        }
        return Swift.min(1, mass[reachable].reduce(0, +))
    }

    /// log k! for k = 0…n, so that binomial probabilities cost a few additions and one exp.
    struct LogFactorials {
        let values: [Double]

        init(_ n: Int) {
            var values = [Double](repeating: 0, count: n + 1)
            for k in stride(from: 1, through: n, by: 1) { values[k] = values[k - 1] + Double.log(Double(k)) }
            self.values = values
        }

        /// P(K = j) for K ~ Binomial(m, q).
        func binomialPMF(_ m: Int, _ j: Int, _ q: Double) -> Double {
            guard j >= 0 && j <= m else { return 0 }
            if q <= 0 { return j == 0 ? 1 : 0 }
            if q >= 1 { return j == m ? 1 : 0 }
            let logChoose: Double = values[m] - values[j] - values[m - j]
            let logSuccesses: Double = Double(j) * Double.log(q)
            let logFailures: Double = Double(m - j) * Double.log(onePlus: -q)
            return Double.exp(logChoose + logSuccesses + logFailures)
        }

        /// P(K ≤ k) for k = 0…n, K ~ Binomial(n, q).
        func binomialCDF(_ n: Int, _ q: Double) -> [Double] {
            var cdf = [Double](repeating: 0, count: n + 1)
            var total = 0.0
            for k in 0...n {
                total += binomialPMF(n, k, q)
                cdf[k] = total
            }
            return cdf
        }
    }
}
