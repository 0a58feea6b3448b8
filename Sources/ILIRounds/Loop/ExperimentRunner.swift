import Foundation
import ILIInference
import ILIRegistry
import ILITensor
import ILIValidation

/// Runs an experiment round by round: plan → simulate (θ drawn from the round's proposal,
/// results committed to the registry) → train the ensemble (one job per member) → register
/// the posterior → validate it on the round's test set (calibrated only through a passing
/// verdict) → the next round's proposal. Every step is recorded in the registry, and the
/// registry alone says where an experiment stands, so a run killed at any point and started
/// again continues: finished rounds are not redone, committed simulations not simulated
/// again, and a half-trained round trains its unfinished members.
///
/// ```swift
/// let runner = try ExperimentRunner.prepare(try ExperimentConfiguration.load(path: "two-moons.yaml"))
/// let summary = try runner.run()
/// ```
public final class ExperimentRunner {
    public let configuration: ExperimentConfiguration
    public let registry: Registry
    public let simulation: any SimulationBackend
    public let training: any TrainingBackend
    public let observer: (any RunObserver)?
    public let stop: StopSignal
    /// This process's id in the registry (simulations' worker, training jobs' claimer).
    public let worker: String
    public private(set) var experiment: Experiment
    /// Whether the experiment existed before this run.
    public let resumed: Bool
    let prior: any Prior
    private var lease: ExperimentLease?
    private var proposals: [RoundID: RoundProposals] = [:]
    /// The latest samples drawn at the observation, so that the next round simulates them
    /// without sampling its proposal again.
    private var latestObservationSamples: (posterior: PosteriorID, samples: Matrix<Double>)?
    private var runStarted = Date()

    /// What a run ended with.
    public struct Summary: Sendable {
        public var experiment: String
        public var registry: String
        /// Rounds done, of those wanted.
        public var roundsDone: Int
        public var roundsWanted: Int
        /// The latest round's posterior, its directory and whether it is calibrated (nil
        /// when validation was skipped).
        public var latestPosterior: PosteriorID?
        public var latestCalibrated: Bool?
        public var latestDirectory: String?
        /// The newest calibrated posterior of the experiment.
        public var latestCalibratedPosterior: PosteriorID?
        /// Why the run stopped before finishing, when it was asked to.
        public var stoppedBecause: String?
        /// This run's wall time and the part of it spent in registry transactions.
        public var seconds: Double = 0
        public var registrySeconds: Double = 0
    }

    init(configuration: ExperimentConfiguration, registry: Registry, simulation: any SimulationBackend,
         training: (any TrainingBackend)?, observer: (any RunObserver)?, stop: StopSignal, worker: String) throws {
        self.configuration = configuration
        self.registry = registry
        self.simulation = simulation
        self.observer = observer
        self.stop = stop
        self.worker = worker
        prior = try configuration.prior.makePrior(source: configuration.source)
        self.training = training ?? InProcessTrainingBackend(registry: registry, worker: worker)
        (experiment, resumed) = try Self.openExperiment(configuration, registry: registry, xCount: simulation.xCount)
    }

    /// Opens the registry and the experiment and checks the simulator, before any work:
    /// an unknown simulator, a program that fails on each of its first θs, an observation of the
    /// wrong width, an unreachable registry or one whose experiment of this name was made
    /// from a different configuration all stop here with an error naming the key.
    public static func prepare(_ configuration: ExperimentConfiguration, observer: (any RunObserver)? = nil,
                               stop: StopSignal = StopSignal(), simulation: (any SimulationBackend)? = nil,
                               training: (any TrainingBackend)? = nil) throws -> ExperimentRunner {
        let backend = try simulation ?? makeSimulationBackend(configuration)
        if let observation = configuration.observation, observation.count != backend.xCount {
            throw ConfigError(.invalidValue, source: configuration.source, keyPath: "observation",
                              "\(configuration.observationPath ?? "the observation") has \(observation.count) values but the simulator's x has \(backend.xCount)")
        }
        // Estimator settings are checked now, not when the first round has simulated.
        let thetaDimension = try configuration.prior.makePrior(source: configuration.source).dimension
        if configuration.inference.search != nil {
            _ = try configuration.inference.searchTrials(thetaDimension: thetaDimension, xDimension: backend.xCount,
                                                         seed: HyperparameterSearch.trialSeed(runSeed: configuration.seed), training: configuration.training)
        } else {
            _ = try configuration.inference.memberEstimators(thetaDimension: thetaDimension, xDimension: backend.xCount)
        }
        if case .sqlite(let path) = try RegistryURL(configuration.registry) {
            try FileManager.default.createDirectory(at: URL(fileURLWithPath: path).deletingLastPathComponent(), withIntermediateDirectories: true)
        }
        let registry = try Registry(url: configuration.registry, createFolders: true)
        let worker = "ili-run@\(ProcessInfo.processInfo.hostName):\(getpid())"
        let runner = try ExperimentRunner(configuration: configuration, registry: registry, simulation: backend, training: training,
                                          observer: observer, stop: stop, worker: worker)
        runner.lease = try ExperimentLease(registry: registry, experiment: configuration.name, worker: worker)
        return runner
    }

    /// The simulation backend a configuration names; an exec program is probed with up to three prior draws.
    public static func makeSimulationBackend(_ configuration: ExperimentConfiguration) throws -> any SimulationBackend {
        switch configuration.simulator {
        case .builtIn:
            return InProcessSimulationBackend(configuration.simulator.builtIn!)
        case .exec(let settings):
            let prior = try configuration.prior.makePrior(source: configuration.source)
            var rng = RandomSource(seed: Seeds.derive(configuration.seed, "probe"))
            let thetas = prior.sample(3, rng: &rng).converted(to: Float.self).converted(to: Double.self)
            let xCount = try ExecSimulationBackend.probe(settings, thetas: (0..<thetas.rows).map { thetas.row($0) })
            if let stated = settings.xWidth, stated != xCount {
                throw ConfigError(.invalidValue, source: configuration.source, keyPath: "simulator.x_width",
                                  "says x has \(stated) values, but `\(settings.command)` wrote \(xCount) per simulation")
            }
            return ExecSimulationBackend(settings: settings, xCount: xCount)
        }
    }

    static func openExperiment(_ configuration: ExperimentConfiguration, registry: Registry, xCount: Int) throws -> (Experiment, Bool) {
        let prior = try configuration.prior.makePrior(source: configuration.source)
        do {
            let existing = try registry.experiment(named: configuration.name)
            try checkSameExperiment(existing, configuration, xCount: xCount, thetaDimension: prior.dimension, registry: registry)
            return (existing, true)
        } catch let error as RegistryError where error.code == .unknownExperiment {
            let created = try registry.createExperiment(ExperimentSpec(
                name: configuration.name, config: try configuration.registryConfig(), prior: try ArchiveJSON.text(configuration.prior),
                thetaDimension: prior.dimension, xShape: [xCount]))
            return (created, false)
        }
    }

    static func checkSameExperiment(_ existing: Experiment, _ configuration: ExperimentConfiguration, xCount: Int,
                                    thetaDimension: Int, registry: Registry) throws {
        let name = existing.name, url = registry.url.redacted
        guard let stored = try? ArchiveJSON.decode(ExperimentConfiguration.StoredConfiguration.self, from: existing.config) else {
            throw ConfigError(.invalidValue, source: configuration.source, keyPath: "experiment",
                              "the registry at \(url) already has an experiment named \(name) that `ili run` did not create; choose another name")
        }
        let current = configuration.identity
        let differing = Set(stored.identity.keys).union(current.keys).sorted().filter { stored.identity[$0] != current[$0] }
        if !differing.isEmpty {
            let lines = differing.map { "  \($0): registry has \(stored.identity[$0] ?? "nothing"), this file has \(current[$0] ?? "nothing")" }
            throw ConfigError(.invalidValue, source: configuration.source, keyPath: "experiment", """
                the registry at \(url) holds experiment \(name) made from a different configuration \
                (\(stored.source)); resuming it with this one would mix two experiments. What differs:
                \(lines.joined(separator: "\n"))
                Give this configuration another `experiment` name, or restore the original settings.
                """)
        }
        guard existing.thetaDimension == thetaDimension, existing.xCount == xCount else {
            throw ConfigError(.invalidValue, source: configuration.source, keyPath: "simulator",
                              "experiment \(name) holds θ of \(existing.thetaDimension) and x of \(existing.xCount) values, but the simulator now gives θ \(thetaDimension) and x \(xCount)")
        }
    }

    // MARK: The loop

    /// Runs rounds until `rounds.count` are done, or until `stop` is requested (then
    /// returns with everything finished committed and `stoppedBecause` set).
    public func run() throws -> Summary {
        defer { lease?.release() }
        runStarted = Date()
        observer?.runStarted(experiment: experiment.name, registry: registry.url.redacted, simulator: simulation.description,
                             resumed: resumed, rounds: try registry.rounds(experiment: experiment.name))
        var started: [RoundID: Date] = [:]
        while true {
            if stop.requested { return try summary() }
            let rounds = try registry.rounds(experiment: experiment.name)
            switch RoundPlanner.next(rounds: rounds, wanted: configuration.rounds.count) {
            case .finished:
                return try summary()
            case .open(let index, let position):
                let description = try proposalDescription(position: position, rounds: rounds)
                _ = try registry.openRound(experiment: experiment.name, strategy: description.strategyName,
                                           proposal: try ArchiveJSON.text(description),
                                           targetCount: configuration.rounds.simulationsPerRound)
                _ = index
            case .resume(let round, let position):
                if started[round.id] == nil {
                    started[round.id] = Date()
                    observer?.roundStarted(round, position: position, count: configuration.rounds.count,
                                           proposal: try RegistryMapping.proposal(of: round))
                }
                do {
                    guard try advance(round) else { return try summary() }
                } catch let failure as RoundFailure {
                    try registry.advanceRound(id: round.id, to: .failed, failure: failure.message)
                    throw failure
                } catch is TrainingCancelled where stop.requested {
                    return try summary()
                }
                if try registry.round(id: round.id).status == .done {
                    let posterior = try posteriorOf(round: round)
                    observer?.roundFinished(round: round.index, posterior: posterior.id,
                                            calibrated: configuration.validation.simulations > 0 ? posterior.calibrated : nil,
                                            directory: roundDirectory(round.index),
                                            seconds: Date().timeIntervalSince(started[round.id]!))
                }
            }
        }
    }

    /// Carries `round` one phase on; false when the run was asked to stop meanwhile.
    private func advance(_ round: Round) throws -> Bool {
        switch round.status {
        case .planned:
            try registry.advanceRound(id: round.id, to: .simulating)
        case .simulating:
            observer?.phaseStarted(round: round.index, phase: .simulating)
            guard try simulate(round) else { return false }
            try registry.advanceRound(id: round.id, to: .training)
        case .training:
            observer?.phaseStarted(round: round.index, phase: .training)
            try train(round)
            try registry.advanceRound(id: round.id, to: .validating)
        case .validating:
            observer?.phaseStarted(round: round.index, phase: .validating)
            try validate(round)
            try registry.advanceRound(id: round.id, to: .done)
        case .done, .failed:
            break
        }
        return true
    }

    // MARK: Proposals

    /// Where the `position`-th round draws its θs: the prior first (and always, for
    /// amortized rounds), then from the latest done round's posterior at the observation.
    func proposalDescription(position: Int, rounds: [Round]) throws -> ProposalDescription {
        let settings = configuration.rounds
        guard position > 0, settings.strategy != .amortized, let latest = rounds.last(where: { $0.status == .done }) else {
            return .prior
        }
        let source = try posteriorOf(round: latest).id
        if settings.strategy == .active { return .active(posterior: source, candidates: settings.candidatesPerSimulation) }
        return proposesFromPosterior ? .posterior(posterior: source)
            : .truncatedPrior(posterior: source, quantile: settings.truncationQuantile)
    }

    /// Whether a round after the first draws its θs from the previous posterior at the
    /// observation (sequential NLE, NRE and atomic NPE).
    var proposesFromPosterior: Bool {
        let settings = configuration.rounds
        return settings.strategy == .sequential && !(configuration.inference.method == .npe && settings.posteriorLoss == .truncated)
    }

    /// The proposal a round's training θs are drawn from, and the one its test set is drawn
    /// from (the same, except for active rounds, whose test set comes from the posterior:
    /// the disagreement criterion would make it a biased test).
    struct RoundProposals {
        var training: any Proposal
        var test: any Proposal
    }

    func proposals(for round: Round) throws -> RoundProposals {
        if let cached = proposals[round.id] { return cached }
        let description = try RegistryMapping.proposal(of: round)
        let built: RoundProposals
        if let source = description.sourcePosterior {
            guard let observation = configuration.observation else {
                throw RoundFailure("round \(round.index) draws from a posterior at the observation, but the configuration has no observation")
            }
            let posterior = observingWarnings(try RegistryArchives.posterior(registry, id: source), round: round.index)
            let atObservation = PosteriorProposal(posterior: posterior, observation: observation)
            switch description {
            case .truncatedPrior(_, let quantile):
                var rng = RandomSource(seed: Seeds.derive(configuration.seed, "truncation", round.index))
                let truncated = try TruncatedPriorProposal(prior: prior, posterior: posterior, observation: observation,
                                                           quantile: quantile, rng: &rng)
                built = RoundProposals(training: truncated, test: truncated)
            case .active(_, let candidates):
                built = RoundProposals(training: ActiveProposal(posterior: posterior, observation: observation,
                                                                candidatesPerSimulation: candidates), test: atObservation)
            default:
                built = RoundProposals(training: atObservation, test: atObservation)
            }
        } else {
            built = RoundProposals(training: PriorProposal(prior: prior), test: PriorProposal(prior: prior))
        }
        proposals[round.id] = built
        return built
    }

    // MARK: Simulating

    /// Simulates until the round has its target of valid training simulations and of valid
    /// test simulations; false when stopped first.
    func simulate(_ round: Round) throws -> Bool {
        let targets: [(SimulationPurpose, Int)] = [(.training, round.targetCount), (.test, configuration.validation.simulations)]
        for (purpose, target) in targets where target > 0 {
            guard try simulate(round, purpose: purpose, target: target) else { return false }
        }
        return true
    }

    /// The θs of a round are drawn in chunks: chunk 0 holds the target's count, each later
    /// chunk a tenth of it (at least 10), drawn only when failures left the round short.
    /// Chunk c's θs and every simulation's seed come from the configuration's seed, so a
    /// resumed round draws the same tasks and skips those already stored.
    static func chunk(_ c: Int, target: Int) -> Range<Int> {
        let extra = max(10, target / 10)
        return c == 0 ? 0..<target : (target + (c - 1) * extra)..<(target + c * extra)
    }

    /// Task ids are `EXPERIMENT/rROUND/PURPOSE/INDEX`: this prefix followed by the index.
    func taskIdPrefix(round: Round, purpose: SimulationPurpose) -> String {
        "\(experiment.name)/r\(round.index)/\(purpose.rawValue)/"
    }

    private func simulate(_ round: Round, purpose: SimulationPurpose, target: Int) throws -> Bool {
        func counts() throws -> (valid: Int, invalid: Int) {
            let r = try registry.round(id: round.id)
            return purpose == .training ? (r.validSimulations, r.invalidSimulations) : (r.validTestSimulations, r.invalidTestSimulations)
        }
        var (valid, invalid) = try counts()
        // What a restarted run must not simulate again: this purpose's stored task numbers,
        // read only when the round's counters say there are any (a fresh round reads nothing).
        let prefix = taskIdPrefix(round: round, purpose: purpose)
        let stored = valid + invalid == 0 ? Set<Int>() : try registry.storedTaskNumbers(round: round.id, prefix: prefix)
        let start = Date()
        var committedHere = 0
        var chunk = 0
        while valid < target {
            if stop.requested { return false }
            let range = Self.chunk(chunk, target: target)
            // A simulator that fails on most θs would otherwise draw forever.
            if range.lowerBound >= 10 * target + 100 {
                let reasons = try registry.failureReasons(round: round.id, limit: 3).map { "\($0.taskId): \($0.reason)" }
                throw RoundFailure("""
                    the simulator gave only \(valid) valid \(purpose == .training ? "training" : "test") simulations of \
                    \(target) after \(range.lowerBound) attempts (\(invalid) failed); latest failures: \(reasons.joined(separator: "; "))
                    """)
            }
            if range.allSatisfy(stored.contains) {
                chunk += 1
                continue
            }
            var rng = RandomSource(seed: Seeds.derive(configuration.seed, "theta-\(purpose.rawValue)", round.index, chunk))
            let theta: Matrix<Double>
            if chunk == 0, purpose == .training, case .posterior(let source) = try RegistryMapping.proposal(of: round) {
                theta = try observationSamples(of: source, count: range.count)
            } else {
                let proposal = try proposals(for: round)
                theta = try (purpose == .training ? proposal.training : proposal.test).draw(range.count, rng: &rng)
            }
            // θ is stored as float32: simulate exactly what is stored.
            let tasks = range.enumerated().compactMap { i, index -> SimulationTask? in
                stored.contains(index) ? nil : SimulationTask(
                    taskId: prefix + String(index), theta: theta.row(i).map { Double(Float($0)) },
                    seed: Seeds.derive(configuration.seed, "noise-\(purpose.rawValue)", round.index, index))
            }
            let thetaByTask = Dictionary(uniqueKeysWithValues: tasks.map { ($0.taskId, $0.theta.map(Float.init)) })
            let drawsFromPrior = try RegistryMapping.proposal(of: round) == .prior
            let acceptsUnsolicited = purpose == .training && drawsFromPrior
            simulation.prepare(for: SimulationContext(experiment: experiment.name, round: round.index, purpose: purpose,
                                                      acceptsUnsolicited: acceptsUnsolicited))
            try simulation.run(tasks, commit: { outcomes in
                let records = try outcomes.map { outcome -> SimulationRecord in
                    guard let theta = thetaByTask[outcome.taskId] ?? (acceptsUnsolicited ? outcome.theta : nil) else {
                        throw SimulationError("the simulation backend returned task \(outcome.taskId), which round \(round.index) did not ask for\(outcome.theta == nil ? "" : " (unsolicited pairs are taken only while a round draws θ from the prior)")")
                    }
                    return SimulationRecord(taskId: outcome.taskId, theta: theta, x: outcome.x ?? [],
                                            valid: outcome.x != nil, reason: outcome.failure, purpose: purpose)
                }
                let result = try registry.appendSimulations(round: round.id, records, worker: worker)
                committedHere += result.inserted
                valid += result.inserted - result.invalid
                invalid += result.invalid
                observer?.simulationProgress(round: round.index, purpose: purpose, valid: valid, failed: invalid, target: target,
                                             perSecond: Double(committedHere) / max(Date().timeIntervalSince(start), 1e-3))
            }, shouldStop: { stop.requested || valid >= target })   // producers' pairs may reach the target first
            (valid, invalid) = try counts()
            chunk += 1
        }
        return true
    }

    // MARK: Training

    /// The balanced loss's reference density is the prior in every round, truncated or not;
    /// once any round's θs came from a posterior, the atomic loss (when chosen) corrects for it.
    func posteriorLoss(for round: Round) throws -> PosteriorLoss {
        let inference = configuration.inference
        if inference.method == .npe, configuration.rounds.posteriorLoss == .atomic, configuration.rounds.strategy != .amortized,
           try registry.rounds(experiment: experiment.name).contains(where: { $0.index <= round.index && $0.strategy != "prior" }) {
            return .atomic(atoms: configuration.rounds.atoms, prior: configuration.prior)
        }
        return inference.posteriorLoss.posteriorLoss(prior: configuration.prior)
    }

    /// The seed of a round's training jobs (their split, and each member's weights).
    func trainingSeed(_ round: Round) -> UInt64 { Seeds.derive(configuration.seed, "train", round.index) }

    /// One job per member: the configuration's estimators, seeded per round, trained on
    /// every round's training simulations so far.
    func memberJobs(for round: Round) throws -> [EnsembleMemberJob] {
        let inference = configuration.inference
        let estimators = try inference.memberEstimators(thetaDimension: experiment.thetaDimension, xDimension: experiment.xCount)
        return EnsembleTraining.jobs(method: inference.method, estimators: estimators, ratio: inference.ratio,
                                     posteriorLoss: try posteriorLoss(for: round), training: configuration.training, seed: trainingSeed(round))
    }

    /// `inference.search` for `round`: the same trials every round (drawn with the run's
    /// seed, as `ili train` draws them), each round's search starting from fresh networks
    /// on all its data so far.
    func roundSearch(for round: Round) throws -> RoundSearch? {
        let inference = configuration.inference
        guard let space = inference.search else { return nil }
        let trials = try inference.searchTrials(thetaDimension: experiment.thetaDimension, xDimension: experiment.xCount,
                                                seed: HyperparameterSearch.trialSeed(runSeed: configuration.seed), training: configuration.training)
        return RoundSearch(space: space, trials: trials.map(\.trial), estimators: trials.map(\.estimator), method: inference.method,
                           ratio: inference.ratio, posteriorLoss: try posteriorLoss(for: round), seed: trainingSeed(round))
    }

    /// The search records of rounds searched in this process, for their round directories.
    var searchRecords: [Int: [HyperparameterSearch.TrialRecord]] = [:]

    func train(_ round: Round) throws {
        if try registry.posteriors(round: round.id).isEmpty {
            let versions: [ModelVersion], weights: [Double]
            if let search = try roundSearch(for: round) {
                let outcome = try search.run(round: round, registry: registry, observer: observer) {
                    try training.complete(round: round, experiment: experiment.name, observer: observer, stop: stop)
                }
                (versions, weights) = (outcome.members, outcome.weights)
                searchRecords[round.index] = outcome.records
            } else {
                let previous = try previousNetworks(before: round)
                for job in try memberJobs(for: round) {
                    let stored = StoredTrainingJob(job: job, continuesFrom: previous[job.member])
                    _ = try registry.enqueueTrainingJob(round: round.id, member: job.member, config: try ArchiveJSON.text(stored))
                }
                let jobs = try training.complete(round: round, experiment: experiment.name, observer: observer, stop: stop)
                versions = try jobs.sorted { $0.member < $1.member }.map { job -> ModelVersion in
                    guard let id = job.modelVersion else { throw RoundFailure("training job \(job.id) is done without a model version") }
                    return try registry.modelVersion(id: id)
                }
                let scores = try versions.map { try RegistryMapping.record(of: $0).summary.bestValidationScore }
                weights = DensityEnsemble.weights(fromValidationScores: scores)
            }
            let method = configuration.inference.method
            let settings = PosteriorSettings(sampler: method.usesMCMC ? configuration.inference.sampler : nil,
                                             ratio: method == .nre ? configuration.inference.ratio : nil)
            _ = try registry.createPosterior(members: zip(versions, weights).map { ($0.id, $1) }, settings: try ArchiveJSON.text(settings))
        } else {
            observer?.note("round \(round.index): its posterior is already registered")
        }
    }

    /// What a round's search did: remembered from training it here, or else (a resumed run)
    /// replayed from the registry's finished jobs, training nothing.
    func searchOutcome(_ round: Round) throws -> [HyperparameterSearch.TrialRecord]? {
        if let records = searchRecords[round.index] { return records }
        guard let search = try roundSearch(for: round) else { return nil }
        // Every job is done: read them once for all the rungs.
        let jobs = try registry.trainingJobs(round: round.id)
        let records = try search.run(round: round, registry: registry, observer: nil, replaying: true) { jobs }.records
        searchRecords[round.index] = records
        return records
    }

    /// The model version each member continues from in `round`: the previous round's
    /// member of the same index, when rounds continue training (`continue_training`).
    func previousNetworks(before round: Round) throws -> [Int: ModelVersionID] {
        guard configuration.rounds.continuesTraining, round.index > 0 else { return [:] }
        guard let previous = try registry.rounds(experiment: experiment.name).first(where: { $0.index == round.index - 1 }) else {
            return [:]
        }
        return Dictionary(uniqueKeysWithValues: try posteriorOf(round: previous).members.map { ($0.index, $0.modelVersion) })
    }

    func posteriorOf(round: Round) throws -> RegisteredPosterior {
        guard let posterior = try registry.posteriors(round: round.id).last else {
            throw RoundFailure("round \(round.index) has no registered posterior")
        }
        return posterior
    }

    // MARK: Validating

    public func roundDirectory(_ index: Int) -> String {
        URL(fileURLWithPath: configuration.outputDirectory).appendingPathComponent("round-\(index)").path
    }

    /// Writes the round's posterior directory, judges the posterior on the round's test
    /// set, records every check and the verdict, and marks the posterior calibrated when
    /// the verdict passed.
    func validate(_ round: Round) throws {
        let posterior = try posteriorOf(round: round)
        let directory = roundDirectory(round.index)
        if let verdict = try ValidationRecording.storedVerdict(posterior: posterior.id, registry: registry) {
            // Judged before an interruption: finish what may be left (the calibrated flag).
            try ValidationRecording.finishCalibration(posterior: posterior.id, verdict: verdict, registry: registry)
            return
        }
        let archive = try RegistryArchives.archive(registry, id: posterior.id)
        try archive.write(to: directory, replacing: true)
        if let records = try searchOutcome(round) {
            try SearchPlot.writeFiles(records, method: configuration.inference.method, toDirectory: directory)
        }
        let model = observingWarnings(try archive.makePosterior(source: "posterior \(posterior.id)"), round: round.index)
        try writeObservationSamples(model, posterior: posterior.id, round: round, directory: directory)
        guard configuration.validation.simulations > 0 else {
            observer?.note("round \(round.index): validation is off (validation.simulations: 0), so the posterior is not judged")
            return
        }
        let test = try registry.testData(experiment: experiment.name, round: round.index)
        guard test.count >= RoundValidationSettings.minimumSimulations else {
            throw RoundFailure("round \(round.index) has only \(test.count) valid test simulations; at least \(RoundValidationSettings.minimumSimulations) are needed")
        }
        let theta = Matrix(rows: test.count, cols: test.thetaDimension, test.theta.map(Double.init))
        let x = Matrix(rows: test.count, cols: experiment.xCount, test.x.map(Double.init))
        let suite = ValidationSuite(samplesPerPoint: configuration.validation.samples,
                                    seed: Seeds.derive(configuration.seed, "validation", round.index))
        var report = try suite.run(posterior: model, theta: theta, observations: x)
        var cornerRNG = RandomSource(seed: Seeds.derive(configuration.seed, "corner", round.index))
        let corner = try model.sample(2_000, observations: x.rows(at: [0]), rng: &cornerRNG)
        try ValidationArtifacts.write(&report, theta: theta, to: directory, cornerSamples: corner,
                                      trainingFile: (directory as NSString).appendingPathComponent(TrainingRecord.fileName))
        try ValidationRecording.record(report.verdict, plots: report.plots, posterior: posterior.id, registry: registry)
        observer?.validated(round: round.index, posterior: posterior.id, verdict: report.verdict)
    }

    /// How many samples at the observation round `index` writes: 10,000, except a round
    /// whose samples are the next round's θs (sequential rounds drawing from the posterior),
    /// which draws as many as the next round simulates. sbi's sequential methods likewise
    /// sample each round's proposal once.
    func observationSampleCount(round index: Int) -> Int {
        proposesFromPosterior && index < configuration.rounds.count - 1 ? configuration.rounds.simulationsPerRound : 10_000
    }

    /// `count` samples of a round's posterior at the observation, seeded by the round alone:
    /// the same draws whether they are written as `samples_xo.npy` or, after a restart,
    /// drawn again as the next round's first chunk of θs.
    func observationSamples(_ model: any Posterior, posterior: PosteriorID, roundIndex: Int, count: Int) throws -> Matrix<Double> {
        if let latest = latestObservationSamples, latest.posterior == posterior, latest.samples.rows == count { return latest.samples }
        guard let observation = configuration.observation else {
            throw RoundFailure("round \(roundIndex + 1) draws from a posterior at the observation, but the configuration has no observation")
        }
        var rng = RandomSource(seed: Seeds.derive(configuration.seed, "observation-samples", roundIndex))
        let samples = try model.sample(count, observations: Matrix(rows: 1, cols: observation.count, observation), rng: &rng)
        latestObservationSamples = (posterior, samples)
        return samples
    }

    /// The samples at the observation of the round that registered `posterior`, as the next
    /// round's first θs.
    func observationSamples(of posterior: PosteriorID, count: Int) throws -> Matrix<Double> {
        if let latest = latestObservationSamples, latest.posterior == posterior, latest.samples.rows == count { return latest.samples }
        let registered = try registry.posterior(id: posterior)
        guard let source = try registry.rounds(experiment: experiment.name).first(where: { $0.id == registered.round }) else {
            throw RoundFailure("posterior \(posterior) belongs to no round of experiment \(experiment.name)")
        }
        let model = observingWarnings(try RegistryArchives.posterior(registry, id: posterior), round: source.index)
        return try observationSamples(model, posterior: posterior, roundIndex: source.index, count: count)
    }

    /// At the observation, when there is one: samples (`samples_xo.npy`, see
    /// `observationSampleCount`) and their corner plot (`corner_xo.svg`).
    func writeObservationSamples(_ model: any Posterior, posterior: PosteriorID, round: Round, directory: String) throws {
        guard configuration.observation != nil else { return }
        let samples = try observationSamples(model, posterior: posterior, roundIndex: round.index,
                                             count: observationSampleCount(round: round.index))
        try NPYFile.write(samples.converted(to: Float.self), to: (directory as NSString).appendingPathComponent("samples_xo.npy"))
        try CornerPlot(series: [.init(label: "posterior at x_o", samples: samples)],
                       title: "Round \(round.index) posterior at the observation")
            .render().write(to: (directory as NSString).appendingPathComponent("corner_xo.svg"))
    }

    /// Hands a posterior's warnings (low acceptance, MCMC diagnostics) to the observer.
    func observingWarnings(_ posterior: any Posterior, round: Int) -> any Posterior {
        let forward: (String) -> Void = { [observer] in observer?.note("warning: round \(round): \($0)") }
        if let direct = posterior as? DirectPosterior { direct.warn = forward }
        if let mcmc = posterior as? MCMCPosterior { mcmc.warn = forward }
        return posterior
    }

    // MARK: Summary

    func summary() throws -> Summary {
        let rounds = try registry.rounds(experiment: experiment.name)
        let done = rounds.filter { $0.status == .done }
        var summary = Summary(experiment: experiment.name, registry: registry.url.redacted, roundsDone: done.count,
                              roundsWanted: configuration.rounds.count, stoppedBecause: stop.why)
        if let last = done.last, let posterior = try registry.posteriors(round: last.id).last {
            summary.latestPosterior = posterior.id
            summary.latestCalibrated = configuration.validation.simulations > 0 ? posterior.calibrated : nil
            summary.latestDirectory = roundDirectory(last.index)
        }
        summary.latestCalibratedPosterior = try registry.latestCalibratedPosterior(experiment: experiment.name)?.id
        summary.seconds = Date().timeIntervalSince(runStarted)
        summary.registrySeconds = registry.busySeconds
        return summary
    }
}

/// Holds an experiment for one run: a second `ili run` of the same experiment while this
/// one is alive is refused instead of mixing two runs' simulations and jobs.
final class ExperimentLease: @unchecked Sendable {
    let registry: Registry
    let id: String
    private let timer: DispatchSourceTimer
    static let staleAfter: TimeInterval = 15

    init(registry: Registry, experiment: String, worker: String) throws {
        self.registry = registry
        let leaseId = "coordinator/\(experiment)"
        id = leaseId
        if let holder = try registry.workers().first(where: { $0.id == leaseId }), holder.host != worker,
           Date().timeIntervalSince(holder.lastHeartbeat) < Self.staleAfter, Self.mayBeAlive(holder.host) {
            throw RegistryError(.invalidInput, "experiment \(experiment) is being run by \(holder.host) (its heartbeat is \(Int(Date().timeIntervalSince(holder.lastHeartbeat))) s old); wait for it to finish or stop it first")
        }
        try registry.registerWorker(id: id, kind: .coordinator, host: worker)
        timer = DispatchSource.makeTimerSource(queue: DispatchQueue.global())
        timer.schedule(deadline: .now() + 3, repeating: 3)
        timer.setEventHandler { try? registry.workerHeartbeat(id: leaseId) }
        timer.resume()
    }

    /// A holder on this host whose process is gone holds nothing.
    static func mayBeAlive(_ holder: String) -> Bool {
        let parts = holder.split(separator: "@").last?.split(separator: ":") ?? []
        guard parts.count == 2, String(parts[0]) == ProcessInfo.processInfo.hostName, let pid = Int32(parts[1]) else { return true }
        return kill(pid, 0) == 0 || errno == EPERM
    }

    func release() { timer.cancel() }
}
