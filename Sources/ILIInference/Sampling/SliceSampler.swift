import Foundation
import ILITensor

/// Coordinate-wise slice sampling (Neal 2003, stepping out and shrinkage) of all chains of
/// all groups at once, in as few target calls as possible.
///
/// A target call has a fixed cost (about that of 20 rows for a 5-transform MAF in this
/// engine), so the sampler trades calls against rows:
///
/// - Chains do not wait for each other: each chain goes through its own sequence of
///   coordinate updates, and a call holds the current round of every chain whatever its
///   update. A chain that needs a few more rounds delays no other chain, so the calls per
///   coordinate update are the mean rounds per chain (1.6 for a Gaussian with the look-ahead below), not
///   the maximum over all chains, which grows with their number (3.3 for 20 chains).
/// - Each round evaluates, for each chain, the next stepping-out positions on each side
///   still open and a stream of candidates drawn uniformly on the widest bracket those
///   positions could leave. A candidate inside the bracket actually found is a uniform
///   draw on it (the stream is independent of where stepping out stops), so the
///   candidates inside the current bracket, taken in order and shrinking it on each
///   rejection, are exactly Neal's shrinkage; those outside are skipped. With up to 32
///   chains in all, a round looks two positions and two candidates ahead (1.6 rounds and
///   6.8 rows per update for a Gaussian); with more chains a call is large anyway and one
///   of each is cheaper (2.7 rounds, 5.3 rows). Rounds after the third double the
///   look-ahead, so that a badly scaled width cannot keep a chain for long.
/// - The target takes equal blocks of rows per group; the rows that pad the shorter blocks
///   become more candidates for their chains.
///
/// The step width w of each (group, coordinate) is tuned during warm-up to a multiple of
/// the weighted mean distance moved, and frozen once the first chain of the group leaves
/// warm-up. Stepping out is bounded at m = 10 widths (Neal's m).
///
/// ```swift
/// var sampler = SliceSampler(initial: state)
/// try sampler.run(&state, schedule: schedule, target: &evaluator, rng: &rng,
///                 recorder: &recorder, throttle: &throttle)
/// ```
struct SliceSampler: ChainSampler {
    let groups: Int
    let chainsPerGroup: Int
    let dimension: Int
    /// Step width per (group, coordinate), at `g·d + j`.
    private(set) var widths: [Double]
    /// Weighted mean distance moved per (group, coordinate) during warm-up.
    private var meanMove: [Double]
    private var movesSeen: [Int]
    /// Whether a group's widths are fixed (a chain of it has left warm-up).
    private var frozen: [Bool]

    /// Neal's m: the stepped-out bracket is at most m·w wide.
    static let maxSteppingOut = 10
    /// w as a multiple of the mean move. For a Gaussian conditional the mean move is about
    /// 1.1 standard deviations and the slice about 3.5 wide; w ≈ 2.8 σ minimises rounds
    /// plus rows per update in simulations (2 to 4 are within a few percent).
    static let widthPerMeanMove = 2.5
    /// The most chains (over all groups) for which a round looks two points ahead.
    static let maxChainsForWideLookahead = 32
    /// The most points a chain evaluates in one round on one side or in shrinkage.
    static let maxLookahead = 64
    /// Stepping-out positions per open side and shrinkage candidates in the first rounds.
    let baseLookahead: Int

    init(initial state: ChainState) {
        groups = state.groups
        chainsPerGroup = state.chainsPerGroup
        dimension = state.dimension
        baseLookahead = state.chainCount <= Self.maxChainsForWideLookahead ? 2 : 1
        let d = dimension, c = chainsPerGroup
        // Start from the spread of the starting points, or 1 when they coincide.
        widths = (0..<(groups * d)).map { k in
            let g = k / d, j = k % d
            let values = (0..<c).map { state.positions[(g * c + $0) * d + j] }
            let mean = values.reduce(0, +) / Double(c)
            let sd = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(c)).squareRoot()
            return sd > 0 && sd.isFinite ? 2 * sd : 1
        }
        meanMove = Array(repeating: 0, count: groups * d)
        movesSeen = Array(repeating: 0, count: groups * d)
        frozen = Array(repeating: false, count: groups)
    }

    /// One chain's coordinate update in progress.
    private struct Update {
        var coordinate = 0
        /// The coordinate's value before the update, and its width.
        var origin = 0.0
        var width = 0.0
        /// The slice is {log f > level}, level = log f(current) − Exp(1).
        var level = 0.0
        var lower = 0.0
        var upper = 0.0
        /// Stepping-out steps left on each side (0: that side is settled).
        var leftBudget = 0
        var rightBudget = 0
        var round = 0
    }

    mutating func run(_ state: inout ChainState, schedule: StepSchedule, target: inout GroupedTarget,
                      rng: inout RandomSource, recorder: inout DrawRecorder,
                      throttle: inout ProgressThrottle) throws {
        let n = state.chainCount, d = dimension, c = chainsPerGroup
        let total = schedule.totalSteps
        var updates = [Update](repeating: Update(), count: n)
        var stepsDone = [Int](repeating: 0, count: n)
        for i in 0..<n { begin(&updates[i], chain: i, coordinate: 0, state: state, rng: &rng) }
        var leftCount = [Int](repeating: 0, count: n), rightCount = leftCount, streamCount = leftCount
        var reported = 0
        if schedule.warmup == 0 { frozen = Array(repeating: true, count: groups) }

        while reported < total {
            // How many points each working chain evaluates this round.
            var perGroup = [Int](repeating: 0, count: groups)
            for i in 0..<n {
                guard stepsDone[i] < total else {
                    leftCount[i] = 0; rightCount[i] = 0; streamCount[i] = 0
                    continue
                }
                let u = updates[i]
                let ahead = lookahead(round: u.round)
                leftCount[i] = min(u.leftBudget, ahead)
                rightCount[i] = min(u.rightBudget, ahead)
                streamCount[i] = ahead
                perGroup[i / c] += leftCount[i] + rightCount[i] + streamCount[i]
            }
            // Padding rows of the shorter groups become more candidates for their chains.
            let widest = perGroup.max() ?? 0
            for g in 0..<groups where perGroup[g] < widest {
                let working = ((g * c)..<((g + 1) * c)).filter { stepsDone[$0] < total }
                guard !working.isEmpty else { continue }
                for k in 0..<(widest - perGroup[g]) { streamCount[working[k % working.count]] += 1 }
            }

            // The points, chain after chain: left positions, right positions, candidates.
            var coordinates: [Double] = []
            var blocks = [[Double]](repeating: [], count: groups)
            for i in 0..<n where stepsDone[i] < total {
                let u = updates[i], g = i / c
                var points: [Double] = []
                points.reserveCapacity(leftCount[i] + rightCount[i] + streamCount[i])
                for s in 0..<leftCount[i] { points.append(u.lower - Double(s) * u.width) }
                for s in 0..<rightCount[i] { points.append(u.upper + Double(s) * u.width) }
                // The widest bracket these positions can settle on: the last one evaluated,
                // or one step beyond it when that uses up the side's budget.
                let left = u.lower - Double(reach(leftCount[i], budget: u.leftBudget)) * u.width
                let right = u.upper + Double(reach(rightCount[i], budget: u.rightBudget)) * u.width
                for _ in 0..<streamCount[i] { points.append(left + rng.uniform() * (right - left)) }
                let row = state.position(i)
                for p in points {
                    blocks[g].append(contentsOf: row)
                    blocks[g][blocks[g].count - d + u.coordinate] = p
                }
                coordinates.append(contentsOf: points)
            }
            let values = try target.evaluate(blocks: blocks) { g in state.position(g * c) }.flatMap { $0 }

            var k = 0
            for i in 0..<n where stepsDone[i] < total {
                var u = updates[i]
                if leftCount[i] > 0 {
                    // The first position outside the slice settles the side.
                    if let s = (0..<leftCount[i]).first(where: { !(values[k + $0] > u.level) }) {
                        u.lower = coordinates[k + s]
                        u.leftBudget = 0
                    } else {
                        u.lower -= Double(leftCount[i]) * u.width
                        u.leftBudget -= leftCount[i]
                    }
                    k += leftCount[i]
                }
                if rightCount[i] > 0 {
                    if let s = (0..<rightCount[i]).first(where: { !(values[k + $0] > u.level) }) {
                        u.upper = coordinates[k + s]
                        u.rightBudget = 0
                    } else {
                        u.upper += Double(rightCount[i]) * u.width
                        u.rightBudget -= rightCount[i]
                    }
                    k += rightCount[i]
                }
                var accepted: (value: Double, logDensity: Double)? = nil
                if u.leftBudget == 0 && u.rightBudget == 0 {
                    // Shrinkage over the candidates that fall inside the current bracket.
                    for t in k..<(k + streamCount[i]) {
                        let x = coordinates[t]
                        guard x > u.lower && x < u.upper else { continue }
                        if values[t] > u.level { accepted = (x, values[t]); break }
                        if x < u.origin { u.lower = x } else { u.upper = x }
                    }
                }
                k += streamCount[i]
                // A bracket shrunk onto the current point (or an endless search) keeps it.
                let collapsed = u.upper - u.lower <= 1e-12 * max(abs(u.origin), u.width) || u.round >= 60
                guard accepted != nil || collapsed else {
                    u.round += 1
                    updates[i] = u
                    continue
                }
                let j = u.coordinate, g = i / c
                if let (x, logDensity) = accepted {
                    state.positions[i * d + j] = x
                    state.logDensities[i] = logDensity
                }
                if !frozen[g] { learnWidth(group: g, coordinate: j, move: abs(state.positions[i * d + j] - u.origin)) }
                if j + 1 < d {
                    begin(&updates[i], chain: i, coordinate: j + 1, state: state, rng: &rng)
                    continue
                }
                stepsDone[i] += 1
                if schedule.keeps(after: stepsDone[i]) { recorder.keep(i, state.position(i)) }
                if stepsDone[i] >= schedule.warmup { frozen[g] = true }
                if stepsDone[i] < total { begin(&updates[i], chain: i, coordinate: 0, state: state, rng: &rng) }
            }
            let slowest = stepsDone.min() ?? total
            if slowest > reported {
                reported = slowest
                throttle.report(mcmcStep: reported, of: schedule)
            }
        }
    }

    /// Points per side and candidates in round `round` of an update: the base three times,
    /// then doubling.
    private func lookahead(round: Int) -> Int {
        round < 3 ? baseLookahead : min(baseLookahead << min(round - 2, 6), Self.maxLookahead)
    }

    /// Steps beyond `lower` (or `upper`) of the widest bracket that evaluating `count`
    /// stepping-out positions can settle on.
    private func reach(_ count: Int, budget: Int) -> Int {
        count == 0 ? 0 : (count == budget ? count : count - 1)
    }

    /// Starts chain `i`'s update of `coordinate`: the slice level, a bracket of width w
    /// placed at random around the current point, and the stepping-out budget split at random.
    private func begin(_ u: inout Update, chain i: Int, coordinate j: Int, state: ChainState,
                       rng: inout RandomSource) {
        let d = dimension
        u.coordinate = j
        u.origin = state.positions[i * d + j]
        u.width = widths[(i / chainsPerGroup) * d + j]
        u.level = state.logDensities[i] - exponential(&rng)
        u.lower = u.origin - rng.uniform() * u.width
        u.upper = u.lower + u.width
        u.leftBudget = Int(rng.uniform() * Double(Self.maxSteppingOut))
        u.rightBudget = Self.maxSteppingOut - 1 - u.leftBudget
        u.round = 0
    }

    /// Folds one warm-up move into the group's mean move and width: a running mean over
    /// the first 20 sweeps' worth of moves, then one that forgets the early transient.
    private mutating func learnWidth(group g: Int, coordinate j: Int, move: Double) {
        let k = g * dimension + j
        guard move.isFinite else { return }
        movesSeen[k] += 1
        let rate = max(1 / Double(movesSeen[k]), 1 / (20 * Double(chainsPerGroup)))
        meanMove[k] += rate * (move - meanMove[k])
        if meanMove[k] > 0 { widths[k] = Self.widthPerMeanMove * meanMove[k] }
    }

    /// An Exp(1) draw, strictly positive so that the current point is always inside its slice.
    private func exponential(_ rng: inout RandomSource) -> Double {
        max(-Foundation.log(1 - rng.uniform()), 0x1p-60)
    }
}
