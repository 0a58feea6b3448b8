import Foundation
import ILITensor

/// Picks `count` rows of `candidates` with probability ∝ exp(logWeights), with replacement,
/// for starting chains from the prior resampled by the potential.
///
/// Non-finite weights (−∞, NaN, +∞) count as zero; when no weight is finite the rows are
/// picked uniformly, so that a sampler started from them reports the problem itself.
///
/// ```swift
/// let candidates = prior.sample(1000, rng: &rng)
/// let starts = resampleByWeight(candidates, logWeights: try potential(candidates), count: 20, rng: &rng)
/// ```
public func resampleByWeight(_ candidates: Matrix<Double>, logWeights: [Double], count: Int,
                             rng: inout RandomSource) -> Matrix<Double> {
    precondition(logWeights.count == candidates.rows, "\(logWeights.count) weights for \(candidates.rows) candidates")
    precondition(candidates.rows > 0 || count == 0, "no candidates to resample from")
    return candidates.rows(at: weightedIndices(logWeights[...], count: count, rng: &rng))
}

/// The group-aware form: `candidates` holds `groups` equal blocks (group-major, as the
/// target sees them) and each group's `count` rows are drawn from its own block by its own
/// weights. Returns groups·count rows, group-major, ready as `initial` for `runMCMC`.
///
/// ```swift
/// // 200 prior draws per observation, 20 chains per observation:
/// let starts = resampleByWeight(candidates, logWeights: w, groups: 5, count: 20, rng: &rng)
/// ```
public func resampleByWeight(_ candidates: Matrix<Double>, logWeights: [Double], groups: Int, count: Int,
                             rng: inout RandomSource) -> Matrix<Double> {
    precondition(groups >= 1 && candidates.rows % groups == 0,
                 "\(candidates.rows) candidates do not split into \(groups) equal groups")
    precondition(logWeights.count == candidates.rows, "\(logWeights.count) weights for \(candidates.rows) candidates")
    let block = candidates.rows / groups
    precondition(block > 0 || count == 0, "no candidates to resample from")
    var picked: [Int] = []
    picked.reserveCapacity(groups * count)
    for g in 0..<groups {
        let slice = logWeights[(g * block)..<((g + 1) * block)]
        picked.append(contentsOf: weightedIndices(slice, count: count, rng: &rng).map { $0 + g * block })
    }
    return candidates.rows(at: picked)
}

/// `count` indices of `logWeights` (relative to its start) drawn ∝ exp(weight) by
/// bisection in the cumulative weights.
func weightedIndices(_ logWeights: ArraySlice<Double>, count: Int, rng: inout RandomSource) -> [Int] {
    let weights = Array(logWeights)
    let top = weights.filter(\.isFinite).max()
    var cumulative = [Double](repeating: 0, count: weights.count)
    var total = 0.0
    for (i, w) in weights.enumerated() {
        if let top {
            if w.isFinite { total += Foundation.exp(w - top) }
        } else {
            total += 1
        }
        cumulative[i] = total
    }
    return (0..<count).map { _ in
        let target = rng.uniform() * total
        // The first index whose cumulative weight exceeds target; zero-weight rows never are.
        var lo = 0, hi = cumulative.count - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if cumulative[mid] > target { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }
}
