import Foundation
import ILITensor

/// Sampling–importance–resampling: for each wanted draw, `oversampling` proposals; one is
/// kept with probability ∝ exp(target − proposalLogDensity). Proposal rows are drawn
/// group-major too: a call `proposal(G·c, &rng)` returns c rows for each of the G groups.
///
/// A draw whose proposals all have weight zero (target −∞) is drawn again; a group that
/// found no finite weight in its first 100 draws, or that needs over 1000 attempts per
/// wanted draw, throws `SamplerError.Code.noFiniteWeight`. At most `maxRowsPerCall` rows
/// go to the target in one call. The draws are exact only as oversampling → ∞; with a
/// proposal much broader than the target, raise it.
///
/// ```swift
/// let run = try runImportanceResampling(
///     oversampling: 32, target: potential,
///     proposal: { rows, rng in prior.sample(rows, rng: &rng) },
///     proposalLogDensity: { prior.logProb($0) },
///     groups: 1, count: 1000, rng: &rng)
/// ```
public func runImportanceResampling(oversampling: Int, target: BatchedLogDensity,
                                    proposal: (_ rows: Int, _ rng: inout RandomSource) -> Matrix<Double>,
                                    proposalLogDensity: (Matrix<Double>) -> [Double],
                                    groups: Int, count: Int, rng: inout RandomSource,
                                    maxRowsPerCall: Int = 100_000,
                                    progress: ((SamplerProgress) -> Void)? = nil) throws -> SamplerRun {
    guard oversampling >= 1 else {
        throw SamplerError(.invalidSettings, field: "sirOversampling", "sampler setting sirOversampling is \(oversampling) but it must be at least 1 proposal per draw")
    }
    guard groups >= 1 else { throw SamplerError(.invalidSettings, field: "groups", "groups is \(groups) but at least 1 is needed") }
    guard count >= 1 else { throw SamplerError(.invalidSettings, field: "count", "count is \(count) but at least 1 draw per group is needed") }
    let k = oversampling
    return try withoutActuallyEscaping(target) { function in
        var accepted = [[Double]](repeating: [], count: groups)   // row-major per group
        var attempts = [Int](repeating: 0, count: groups)
        var successes = [Int](repeating: 0, count: groups)
        var evaluator: GroupedTarget? = nil
        var dimension = 0
        var throttle = ProgressThrottle(progress)
        while true {
            let pending = (0..<groups).map { count - successes[$0] }
            let most = pending.max()!
            if most <= 0 { break }
            // Draws per group in this call: what the neediest group lacks, within the row limit.
            let draws = max(1, min(most, maxRowsPerCall / (groups * k)))
            let rows = groups * draws * k
            let points = proposal(rows, &rng)
            if evaluator == nil {
                dimension = points.cols
                evaluator = GroupedTarget(function, groups: groups, dimension: dimension)
            }
            guard points.rows == rows, points.cols == dimension, dimension > 0 else {
                throw SamplerError(.shapeMismatch, field: "proposal", "the proposal returned \(points.shapeDescription) for \(rows) rows of \(dimension) parameters")
            }
            let logQ = proposalLogDensity(points)
            guard logQ.count == rows else {
                throw SamplerError(.shapeMismatch, field: "proposalLogDensity", "the proposal density returned \(logQ.count) values for \(rows) rows")
            }
            let logP = try evaluator!.evaluate(points)
            for g in 0..<groups {
                for t in 0..<draws where successes[g] < count {
                    let first = (g * draws + t) * k
                    let logWeights = (first..<(first + k)).map { logP[$0] - logQ[$0] }
                    attempts[g] += 1
                    guard logWeights.contains(where: \.isFinite) else { continue }
                    let pick = first + weightedIndices(logWeights[...], count: 1, rng: &rng)[0]
                    accepted[g].append(contentsOf: points.storage[(pick * dimension)..<((pick + 1) * dimension)])
                    successes[g] += 1
                }
                if successes[g] < count && (attempts[g] >= 1000 * count || (successes[g] == 0 && attempts[g] >= 100)) {
                    throw SamplerError(.noFiniteWeight, "importance resampling\(groups > 1 ? " of group \(g)" : "") found \(successes[g]) draws with a finite weight in \(attempts[g] * k) proposals: the target is −∞ (or the proposal density −∞) almost everywhere the proposal puts mass")
                }
            }
            throttle.report(.resampling, step: successes.reduce(0, +), of: groups * count)
        }
        return SamplerRun(samples: accepted.map { Matrix(rows: count, cols: dimension, $0) },
                          diagnostics: Array(repeating: nil, count: groups),
                          evaluatedRows: evaluator?.rows ?? 0, targetCalls: evaluator?.calls ?? 0)
    }
}
