import Foundation
import ILITensor

/// Goodman & Weare's affine-invariant ensemble sampler (stretch move, a = 2), with the
/// walkers of each group split at random into two halves updated in turn, so that each
/// half of every group is proposed in one target call (two calls per step).
///
/// A walker X_k moves to Y = X_j + z (X_k − X_j), with X_j a random walker of the other
/// half of its own group and z drawn from g(z) ∝ 1/√z on [1/a, a]; Y is accepted with
/// probability min(1, z^(d−1) f(Y)/f(X_k)). Walkers never meet another group's walkers.
/// The ensemble needs at least 2·d walkers and starts that span all d directions.
///
/// ```swift
/// var sampler = EnsembleSampler(groups: 1, walkers: 20, dimension: 3)
/// try sampler.run(&state, schedule: schedule, target: &evaluator, rng: &rng,
///                 recorder: &recorder, throttle: &throttle)
/// ```
struct EnsembleSampler: ChainSampler {
    let groups: Int
    let walkers: Int
    let dimension: Int
    /// The stretch scale a.
    var stretch = 2.0

    init(groups: Int, walkers: Int, dimension: Int) {
        self.groups = groups
        self.walkers = walkers
        self.dimension = dimension
    }

    mutating func run(_ state: inout ChainState, schedule: StepSchedule, target: inout GroupedTarget,
                      rng: inout RandomSource, recorder: inout DrawRecorder,
                      throttle: inout ProgressThrottle) throws {
        for step in 1...schedule.totalSteps {
            try self.step(&state, target: &target, rng: &rng)
            if schedule.keeps(after: step) {
                for i in 0..<state.chainCount { recorder.keep(i, state.position(i)) }
            }
            throttle.report(mcmcStep: step, of: schedule)
        }
    }

    /// One stretch move of every walker: each half of every group in turn.
    mutating func step(_ state: inout ChainState, target: inout GroupedTarget, rng: inout RandomSource) throws {
        let c = walkers, d = dimension, half = c / 2
        // One random split per group; both halves have the same size in every group.
        let orders = (0..<groups).map { _ in rng.permutation(c) }
        for part in 0..<2 {
            let moving = part == 0 ? 0..<half : half..<c
            let partners = part == 0 ? half..<c : 0..<half
            let rows = moving.count
            var proposals = [Double](repeating: 0, count: groups * rows * d)
            var logStretch = [Double](repeating: 0, count: groups * rows)
            for g in 0..<groups {
                for (r, slot) in moving.enumerated() {
                    let k = g * c + orders[g][slot]
                    let partner = g * c + orders[g][partners.lowerBound + Int(rng.next() % UInt64(partners.count))]
                    // z = ((a − 1)u + 1)² / a has density ∝ 1/√z on [1/a, a].
                    let z = Foundation.pow((stretch - 1) * rng.uniform() + 1, 2) / stretch
                    logStretch[g * rows + r] = Double(d - 1) * Foundation.log(z)
                    for j in 0..<d {
                        let xj = state.positions[partner * d + j]
                        proposals[(g * rows + r) * d + j] = xj + z * (state.positions[k * d + j] - xj)
                    }
                }
            }
            let values = try target.evaluate(Matrix(rows: groups * rows, cols: d, proposals))
            for g in 0..<groups {
                for (r, slot) in moving.enumerated() {
                    let k = g * c + orders[g][slot], p = g * rows + r
                    let logRatio = logStretch[p] + values[p] - state.logDensities[k]
                    // A −∞ proposal gives logRatio = −∞ and is never accepted.
                    guard values[p] > -.infinity, Foundation.log(rng.uniform()) < logRatio else { continue }
                    for j in 0..<d { state.positions[k * d + j] = proposals[p * d + j] }
                    state.logDensities[k] = values[p]
                }
            }
        }
    }
}
