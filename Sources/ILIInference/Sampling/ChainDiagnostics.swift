import Foundation
import ILITensor

/// Split R-hat (rank-normalised, Vehtari et al. 2021) and bulk ESS per parameter.
///
/// R-hat is the larger of the bulk R-hat (split chains, draws replaced by the normal
/// scores of their ranks) and the tail R-hat (the same on |θ − median|), as Stan and
/// ArviZ report it: chains that agree give 1, and 1.01 is the usual limit. The bulk
/// effective sample size is that of the rank-normalised split chains, from the
/// multi-chain autocorrelation estimate truncated by Geyer's initial monotone sequence.
///
/// ```swift
/// let diagnostics = ChainDiagnostics.compute(chains: perChainDraws)   // each steps × d
/// if !diagnostics.warnings.isEmpty { print(diagnostics.warnings.joined(separator: "\n")) }
/// ```
public struct ChainDiagnostics: Codable, Sendable, Equatable {
    /// Per parameter; NaN when there are too few draws (under 4 per chain).
    public var rHat: [Double]
    public var bulkEffectiveSampleSize: [Double]
    /// Draws used over all chains (chains are cut to the shortest).
    public var draws: Int
    public var chains: Int
    /// e.g. "R-hat 1.030 > 1.01 for parameter 1", "bulk ESS 80 is under 10% of 1000 draws for parameter 0".
    public var warnings: [String]

    /// The R-hat above which the chains are said not to agree.
    public static let rHatLimit = 1.01
    /// The share of the draws under which the bulk ESS is said to be low.
    public static let relativeESSLimit = 0.1

    public init(rHat: [Double], bulkEffectiveSampleSize: [Double], draws: Int, chains: Int, warnings: [String]) {
        self.rHat = rHat
        self.bulkEffectiveSampleSize = bulkEffectiveSampleSize
        self.draws = draws
        self.chains = chains
        self.warnings = warnings
    }

    /// The diagnostics of `chains`, each a steps × d matrix of one chain's draws in order.
    public static func compute(chains: [Matrix<Double>]) -> ChainDiagnostics {
        let d = chains.first?.cols ?? 0
        precondition(chains.allSatisfy { $0.cols == d }, "chains with different numbers of parameters")
        let length = chains.map(\.rows).min() ?? 0
        let draws = chains.count * length
        guard length >= 4 else {
            return ChainDiagnostics(rHat: Array(repeating: .nan, count: d),
                                    bulkEffectiveSampleSize: Array(repeating: .nan, count: d),
                                    draws: draws, chains: chains.count,
                                    warnings: d == 0 ? [] : ["too few draws per chain (\(length)) for R-hat and ESS"])
        }
        var rHat: [Double] = [], ess: [Double] = [], warnings: [String] = []
        for p in 0..<d {
            // Each chain split into halves (dropping the middle draw of an odd length), so
            // that a chain still drifting disagrees with itself.
            let half = length / 2
            let split = chains.flatMap { chain in
                [(0..<half).map { chain[$0, p] }, ((length - half)..<length).map { chain[$0, p] }]
            }
            let bulk = rankNormalized(split)
            let pooled = split.flatMap { $0 }.sorted()
            let median = pooled.count % 2 == 1 ? pooled[pooled.count / 2]
                : (pooled[pooled.count / 2 - 1] + pooled[pooled.count / 2]) / 2
            let tail = rankNormalized(split.map { $0.map { abs($0 - median) } })
            let r = max(potentialScaleReduction(bulk), potentialScaleReduction(tail))
            let n = effectiveSampleSize(bulk)
            rHat.append(r)
            ess.append(n)
            if !(r <= rHatLimit) {
                warnings.append(String(format: "R-hat %.3f > %.2f for parameter %d", r, rHatLimit, p))
            }
            if !(n >= relativeESSLimit * Double(draws)) {
                warnings.append(String(format: "bulk ESS %.0f is under %.0f%% of %d draws for parameter %d",
                                       n, relativeESSLimit * 100, draws, p))
            }
        }
        return ChainDiagnostics(rHat: rHat, bulkEffectiveSampleSize: ess, draws: draws,
                                chains: chains.count, warnings: warnings)
    }
}

/// The draws of all chains replaced by the normal scores of their pooled ranks,
/// Φ⁻¹((r − 3/8) / (S + 1/4)), with tied draws sharing their mean rank.
func rankNormalized(_ chains: [[Double]]) -> [[Double]] {
    let flat = chains.flatMap { $0 }
    let s = flat.count
    let order = flat.indices.sorted { flat[$0] < flat[$1] }
    var ranks = [Double](repeating: 0, count: s)
    var start = 0
    while start < s {
        var end = start + 1
        while end < s && flat[order[end]] == flat[order[start]] { end += 1 }
        // Ranks are 1-based; the tie block start..<end shares the mean of its ranks.
        let rank = Double(start + 1 + end) / 2
        for k in start..<end { ranks[order[k]] = rank }
        start = end
    }
    var offset = 0
    return chains.map { chain in
        defer { offset += chain.count }
        return (0..<chain.count).map { normalQuantile((ranks[offset + $0] - 0.375) / (Double(s) + 0.25)) }
    }
}

/// Gelman–Rubin's R̂ = √(var⁺ / W) of equally long chains, with var⁺ = (n−1)/n · W + B/n.
func potentialScaleReduction(_ chains: [[Double]]) -> Double {
    let n = Double(chains[0].count)
    let means = chains.map { $0.reduce(0, +) / n }
    let within = zip(chains, means).map { chain, mean in
        chain.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1)
    }.reduce(0, +) / Double(chains.count)
    let between = variance(means)   // B/n
    guard within > 0 else { return between > 0 ? .infinity : 1 }
    return (((n - 1) / n * within + between) / within).squareRoot()
}

/// The effective sample size of equally long chains (Vehtari et al. 2021, eq. 10 and the
/// Stan implementation): autocorrelations ρ_t = 1 − (W − mean autocovariance_t) / var⁺
/// summed in pairs Γ_k = ρ_2k + ρ_2k+1 while the pairs stay positive, each pair capped by
/// the one before (Geyer's initial monotone sequence); τ = −1 + 2 Σ Γ_k, plus the
/// positive even term where the sum stopped; ESS = draws / τ.
func effectiveSampleSize(_ chains: [[Double]]) -> Double {
    let m = chains.count, n = chains[0].count
    let total = Double(m * n)
    let means = chains.map { $0.reduce(0, +) / Double(n) }
    let centred = zip(chains, means).map { chain, mean in chain.map { $0 - mean } }
    // The biased autocovariance (divided by n) at `lag`, averaged over chains.
    func meanAutocovariance(_ lag: Int) -> Double {
        var sum = 0.0
        for chain in centred {
            chain.withUnsafeBufferPointer { x in
                var s = 0.0
                for i in 0..<(n - lag) { s += x[i] * x[i + lag] }
                sum += s
            }
        }
        return sum / Double(n) / Double(m)
    }
    let acov0 = meanAutocovariance(0)
    let within = acov0 * Double(n) / Double(n - 1)
    var varPlus = acov0
    if m > 1 { varPlus += variance(means) }
    guard varPlus > 0 else { return total }
    func rho(_ lag: Int) -> Double { 1 - (within - meanAutocovariance(lag)) / varPlus }

    var pairSums = [1 + rho(1)]
    var stoppedEven = 0.0
    var lag = 2
    while lag + 1 < n - 1 {
        let even = rho(lag), odd = rho(lag + 1)
        if even + odd < 0 { stoppedEven = even; break }
        pairSums.append(min(even + odd, pairSums[pairSums.count - 1]))
        lag += 2
    }
    var tau = -1 + 2 * pairSums.reduce(0, +) + max(stoppedEven, 0)
    tau = max(tau, 1 / Foundation.log10(total))
    return total / tau
}

/// The sample variance (divided by count − 1).
private func variance(_ values: [Double]) -> Double {
    guard values.count > 1 else { return 0 }
    let mean = values.reduce(0, +) / Double(values.count)
    return values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count - 1)
}
