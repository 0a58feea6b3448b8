import ILITensor

/// What a sampler returns: the draws of every group, their diagnostics and what they cost.
///
/// ```swift
/// let run = try runMCMC(settings, target: f, initial: starts, groups: 2, count: 1000, rng: &rng)
/// run.samples[1]                  // 1000 × d draws of group 1
/// run.diagnostics[1]?.warnings    // [] when the chains agree
/// ```
public struct SamplerRun: Sendable {
    /// One matrix per group: count × d, in the target's space.
    public var samples: [Matrix<Double>]
    /// One per group, computed over every kept step of every chain; nil for SIR.
    public var diagnostics: [ChainDiagnostics?]
    /// Rows passed to the target in total, padding included.
    public var evaluatedRows: Int
    /// Batched calls of the target.
    public var targetCalls: Int

    public init(samples: [Matrix<Double>], diagnostics: [ChainDiagnostics?], evaluatedRows: Int, targetCalls: Int) {
        self.samples = samples
        self.diagnostics = diagnostics
        self.evaluatedRows = evaluatedRows
        self.targetCalls = targetCalls
    }

    /// Every warning of every group's diagnostics, prefixed by the group when there are several.
    public var warnings: [String] {
        diagnostics.enumerated().flatMap { g, d in
            (d?.warnings ?? []).map { diagnostics.count > 1 ? "group \(g): \($0)" : $0 }
        }
    }
}

/// The positions and cached log-densities of all chains of all groups, group-major:
/// chain i (of group i / chainsPerGroup) occupies `positions[i·d ..< (i+1)·d]`.
struct ChainState {
    var positions: [Double]
    var logDensities: [Double]
    let groups: Int
    let chainsPerGroup: Int
    let dimension: Int

    var chainCount: Int { groups * chainsPerGroup }

    func position(_ chain: Int) -> ArraySlice<Double> {
        positions[(chain * dimension)..<((chain + 1) * dimension)]
    }
}

/// When steps are kept: after `warmup` discarded steps, every `thin`-th of the rest.
struct StepSchedule {
    let warmup: Int
    let thin: Int
    let keptPerChain: Int

    var totalSteps: Int { warmup + keptPerChain * thin }

    /// Whether the state after `completed` steps (1-based) is kept.
    func keeps(after completed: Int) -> Bool {
        completed > warmup && (completed - warmup) % thin == 0
    }
}

/// The kept states of every chain, row-major per chain.
struct DrawRecorder {
    private(set) var kept: [[Double]]

    init(chains: Int, capacity: Int) {
        kept = Array(repeating: [], count: chains)
        for i in kept.indices { kept[i].reserveCapacity(capacity) }
    }

    mutating func keep(_ chain: Int, _ position: ArraySlice<Double>) {
        kept[chain].append(contentsOf: position)
    }
}

/// An MCMC sampler that runs every chain of every group through a schedule.
protocol ChainSampler {
    /// Runs each chain for `schedule.totalSteps` steps from `state`, recording the kept
    /// states and reporting the steps that every chain has completed.
    mutating func run(_ state: inout ChainState, schedule: StepSchedule, target: inout GroupedTarget,
                      rng: inout RandomSource, recorder: inout DrawRecorder,
                      throttle: inout ProgressThrottle) throws
}

extension ProgressThrottle {
    /// Reports MCMC progress after `completed` steps of every chain.
    mutating func report(mcmcStep completed: Int, of schedule: StepSchedule) {
        report(completed < schedule.warmup ? .warmup : .sampling, step: completed, of: schedule.totalSteps)
    }
}

/// Runs the configured MCMC (slice or ensemble) from `initial` (groups·chains × d rows,
/// group-major) and returns `count` draws per group after warm-up and thinning.
///
/// Each chain contributes ceil(count / chains) kept draws; samples are interleaved
/// step-major (step t of chain 0, chain 1, …) then truncated to `count`, so truncation does
/// not drop a chain. Chains whose start has log-density −∞ restart from a random finite
/// start of their group; a group without any throws `SamplerError.Code.noFiniteStart`.
///
/// ```swift
/// var settings = SamplerSettings()          // slice, 20 chains, 200 warm-up steps
/// let starts = resampleByWeight(priorDraws, logWeights: try potential(priorDraws), count: 20, rng: &rng)
/// let run = try runMCMC(settings, target: potential, initial: starts, groups: 1, count: 10_000, rng: &rng)
/// ```
public func runMCMC(_ settings: SamplerSettings, target: BatchedLogDensity, initial: Matrix<Double>,
                    groups: Int, count: Int, rng: inout RandomSource,
                    progress: ((SamplerProgress) -> Void)? = nil) throws -> SamplerRun {
    try settings.validate()
    let chains = settings.chains, d = initial.cols
    guard settings.kind != .sir else {
        throw SamplerError(.invalidSettings, field: "kind", "sampler setting kind is sir but runMCMC runs the slice or ensemble sampler; sampling–importance–resampling needs a proposal: call runImportanceResampling")
    }
    guard groups >= 1 else { throw SamplerError(.invalidSettings, field: "groups", "groups is \(groups) but at least 1 is needed") }
    guard count >= 1 else { throw SamplerError(.invalidSettings, field: "count", "count is \(count) but at least 1 draw per group is needed") }
    guard d >= 1, initial.rows == groups * chains else {
        throw SamplerError(.shapeMismatch, field: "initial", "initial points are \(initial.shapeDescription) but \(groups) groups of \(chains) chains need \(groups * chains) rows of at least 1 parameter")
    }
    try settings.validate(parameterCount: d)

    return try withoutActuallyEscaping(target) { function in
        var evaluator = GroupedTarget(function, groups: groups, dimension: d)
        var state = try startingState(initial, groups: groups, chains: chains, target: &evaluator, rng: &rng)
        let schedule = StepSchedule(warmup: settings.warmup, thin: settings.thin,
                                    keptPerChain: (count + chains - 1) / chains)
        var recorder = DrawRecorder(chains: state.chainCount, capacity: schedule.keptPerChain * d)
        var throttle = ProgressThrottle(progress)
        var sampler: any ChainSampler = settings.kind == .ensemble
            ? EnsembleSampler(groups: groups, walkers: chains, dimension: d)
            : SliceSampler(initial: state)
        try sampler.run(&state, schedule: schedule, target: &evaluator, rng: &rng,
                        recorder: &recorder, throttle: &throttle)
        let kept = recorder.kept
        return assembleRun(kept: kept, groups: groups, chains: chains, dimension: d, count: count,
                           evaluator: evaluator)
    }
}

/// The initial state: every start evaluated in one call, and starts outside the support
/// replaced by random finite starts of the same group (chains then separate as they move).
func startingState(_ initial: Matrix<Double>, groups: Int, chains: Int,
                   target: inout GroupedTarget, rng: inout RandomSource) throws -> ChainState {
    let d = initial.cols
    var state = ChainState(positions: initial.storage, logDensities: try target.evaluate(initial),
                           groups: groups, chainsPerGroup: chains, dimension: d)
    for g in 0..<groups {
        let members = (g * chains)..<((g + 1) * chains)
        let finite = members.filter { state.logDensities[$0].isFinite }
        guard !finite.isEmpty else {
            throw SamplerError(.noFiniteStart, field: "initial", "all \(chains) starting points\(groups > 1 ? " of group \(g)" : "") have log-density −∞ or NaN; start the chains inside the support, e.g. from prior draws resampled by the potential (resampleByWeight)")
        }
        for i in members where !state.logDensities[i].isFinite {
            let source = finite[Int(rng.next() % UInt64(finite.count))]
            for j in 0..<d { state.positions[i * d + j] = state.positions[source * d + j] }
            state.logDensities[i] = state.logDensities[source]
        }
    }
    return state
}

/// Each group's draws interleaved step-major and truncated to `count`, with diagnostics
/// over all kept steps.
private func assembleRun(kept: [[Double]], groups: Int, chains: Int, dimension d: Int, count: Int,
                         evaluator: GroupedTarget) -> SamplerRun {
    var samples: [Matrix<Double>] = []
    var diagnostics: [ChainDiagnostics?] = []
    for g in 0..<groups {
        let members = Array((g * chains)..<((g + 1) * chains))
        samples.append(Matrix(rows: count, cols: d) { out in
            for r in 0..<count {
                let chain = members[r % chains], step = r / chains
                for j in 0..<d { out[r * d + j] = kept[chain][step * d + j] }
            }
        })
        let chainMatrices = members.map { Matrix(rows: kept[$0].count / d, cols: d, kept[$0]) }
        diagnostics.append(ChainDiagnostics.compute(chains: chainMatrices))
    }
    return SamplerRun(samples: samples, diagnostics: diagnostics,
                      evaluatedRows: evaluator.rows, targetCalls: evaluator.calls)
}
