import Foundation
import ILINets
import ILITensor

/// What one ensemble member learns: a conditional density (NPE: θ given x; NLE: x given θ)
/// or a ratio classifier of (θ, x) pairs (NRE).
public enum MemberEstimator: Codable, Sendable, Equatable {
    case density(DensityEstimatorConfiguration)
    case classifier(ClassifierConfiguration)

    // Written as the configuration itself (as `posterior.json` has always held it); a
    // density's has `kind`, a classifier's has `parameterCount`.
    private enum Probe: String, CodingKey { case kind, parameterCount }

    public init(from decoder: any Decoder) throws {
        let probe = try decoder.container(keyedBy: Probe.self)
        if probe.contains(.kind) {
            self = .density(try DensityEstimatorConfiguration(from: decoder))
        } else if probe.contains(.parameterCount) {
            self = .classifier(try ClassifierConfiguration(from: decoder))
        } else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription:
                "neither a density estimator configuration (with kind) nor a classifier configuration (with parameterCount)"))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .density(let c): try c.encode(to: encoder)
        case .classifier(let c): try c.encode(to: encoder)
        }
    }

    /// A short name for progress lines: `maf`, `nsf`, `mdn`, `made`, `resnet`, `mlp`.
    public var kindName: String {
        switch self {
        case .density(let c): return c.kind.rawValue
        case .classifier(let c): return c.architecture == .residual ? "resnet" : "mlp"
        }
    }
}

/// The loss an NPE member minimises.
public enum PosteriorLoss: Codable, Sendable, Equatable {
    /// −log q(θ | x) on every pair: right when θ came from the prior, or from the prior
    /// truncated to a region (truncated sequential NPE), where q learns the posterior inside it.
    case maximumLikelihood
    /// The atomic (APT) loss: each x picks its θ among `atoms` θs of the batch by
    /// q(θ | x)/p(θ), which learns the posterior whatever proposal drew the θs.
    case atomic(atoms: Int, prior: PriorSpecification)
    /// Balanced NPE (BNPE): −log q(θ | x) plus `strength` (λ) times the squared imbalance
    /// of the classifier σ(log q(θ | x) − log p(θ)) of `BalancedPosteriorLoss`, with p this
    /// prior. It needs θ drawn from the prior (or from the prior truncated to a region, where
    /// the balance is still taken against p); the result is a deliberately conservative
    /// posterior. Early stopping and ensemble weights use the validation log-probability
    /// alone, so a balanced member's score is comparable with a maximum-likelihood one's.
    case balanced(strength: Double, prior: PriorSpecification)
}

/// Training one member of an ensemble, complete enough that any process holding the same
/// simulations rebuilds the same member: the in-process trainer and a remote trainer
/// worker both call `train(on:observer:)`.
///
/// The split into training and validation rows, and the member's seed, come from `seed`
/// alone (as `EnsembleTraining` derives them), so member k of an ensemble trained here is
/// bit for bit member k of the ensemble trained in one process.
public struct EnsembleMemberJob: Codable, Sendable, Equatable {
    public var method: InferenceMethod
    /// The untrained estimator's configuration.
    public var estimator: MemberEstimator
    /// NRE: the classifier's loss.
    public var ratio: RatioEstimationSettings
    /// NPE: the density's loss.
    public var posteriorLoss: PosteriorLoss
    public var training: TrainingSettings
    /// The ensemble's seed, shared by every member.
    public var seed: UInt64
    public var member: Int
    public var memberCount: Int

    public init(method: InferenceMethod, estimator: MemberEstimator, ratio: RatioEstimationSettings = RatioEstimationSettings(),
                posteriorLoss: PosteriorLoss = .maximumLikelihood, training: TrainingSettings, seed: UInt64,
                member: Int, memberCount: Int) {
        self.method = method
        self.estimator = estimator
        self.ratio = ratio
        self.posteriorLoss = posteriorLoss
        self.training = training
        self.seed = seed
        self.member = member
        self.memberCount = memberCount
    }

    /// `kind #member`, as progress lines name the member.
    public var label: String { "\(estimator.kindName) #\(member)" }

    /// Checks that the job fits the data it is given and is internally consistent.
    public func validate(thetaDimension: Int, xDimension: Int) throws {
        func fail(_ message: String) -> PosteriorError { PosteriorError(.shapeMismatch, "member \(member): \(message)") }
        guard member >= 0, member < memberCount else { throw fail("member index outside 0..<\(memberCount)") }
        switch (method, estimator) {
        case (.npe, .density(let c)):
            guard c.featureCount == thetaDimension, c.contextCount == xDimension else {
                throw fail("an NPE density of \(c.featureCount) features given \(c.contextCount) for θ of \(thetaDimension) and x of \(xDimension)")
            }
        case (.nle, .density(let c)):
            guard c.featureCount == xDimension, c.contextCount == thetaDimension else {
                throw fail("an NLE density of \(c.featureCount) features given \(c.contextCount) for x of \(xDimension) and θ of \(thetaDimension)")
            }
        case (.nre, .classifier(let c)):
            guard c.parameterCount == thetaDimension, c.dataCount == xDimension else {
                throw fail("a classifier of θ \(c.parameterCount) and x \(c.dataCount) wide for θ of \(thetaDimension) and x of \(xDimension)")
            }
            guard training.batchSize >= 2 else { throw fail("NRE contrasts rows within a batch; batch size must be at least 2") }
        default:
            throw fail("\(method.displayName) cannot train a \(estimator.kindName) estimator")
        }
        if case .atomic(let atoms, _) = posteriorLoss {
            guard method == .npe else { throw fail("the atomic posterior loss is for NPE") }
            guard atoms >= 2 else { throw fail("the atomic loss needs at least 2 atoms, got \(atoms)") }
        }
        if case .balanced(let strength, _) = posteriorLoss {
            guard method == .npe else { throw fail("the balanced posterior loss is for NPE (NRE's is variant bnre)") }
            guard strength > 0, strength.isFinite else { throw fail("the balanced loss needs a positive strength, got \(strength)") }
        }
    }

    /// Trains this member on `data` (every member of the ensemble must be given the same
    /// data) and returns it with its summary. The observer may throw to cancel.
    ///
    /// With `start`, training continues from that network (a previous round's member of the
    /// same configuration) instead of fresh weights, keeping its z-scoring: the weights were
    /// learned for that scaling, and refitting it to the new data would move every input
    /// under them. Later rounds then need far fewer epochs, as in sbi's sequential methods.
    public func train(on data: SimulationDataset, startingFrom start: TrainedModel? = nil,
                      observer: (any TrainingObserver)? = nil) throws -> TrainedMember {
        try validate(thetaDimension: data.theta.cols, xDimension: data.x.cols)
        let plan = EnsembleSplit(rows: data.count, members: memberCount, validationFraction: training.validationFraction, seed: seed)
        var rng = RandomSource(seed: plan.memberSeeds[member])
        let trainingRows = plan.training
        let model: TrainedModel
        let score: (Tape<Float>, [Int]) -> Variable<Float>
        // Log-probabilities are per row, so a batch may be split over threads; atomic,
        // balanced and contrastive losses compare rows of one batch and see it whole.
        var scoreRows = Trainer.ScoreRows.coupled
        // Set when early stopping judges something else than the training score.
        var validationScore: Trainer.Score?
        switch estimator {
        case .density(let configuration):
            let (features, context) = method == .nle ? (data.x, data.theta) : (data.theta, data.x)
            let estimator: any ConditionalDensityEstimator<Float>
            if let start {
                guard case .density(let previous) = start, Self.sameNetwork(previous.configuration, configuration) else {
                    throw PosteriorError(.shapeMismatch, "member \(member): cannot continue training from a \(start.estimator.kindName) network of another configuration than this member's \(self.estimator.kindName)")
                }
                estimator = previous
            } else {
                estimator = try makeDensityEstimator(configuration, rng: &rng)
                estimator.fitStandardization(features: features.rows(at: trainingRows), context: context.rows(at: trainingRows))
            }
            model = .density(estimator)
            let logProb = { (tape: Tape<Float>, rows: [Int]) -> Variable<Float> in
                estimator.logProb(tape.constant(features.rows(at: rows)), context: tape.constant(context.rows(at: rows))).mean()
            }
            switch posteriorLoss {
            case .maximumLikelihood:
                scoreRows = .independent
                score = logProb
            case .atomic(let atoms, let priorSpecification):
                let logPrior = try Self.logPrior(of: data.theta, under: priorSpecification, for: "the atomic loss")
                score = { tape, rows in
                    -AtomicPosteriorLoss.loss(estimator, theta: data.theta, x: data.x, logPrior: logPrior,
                                              rows: rows, atoms: atoms, tape: tape)
                }
            case .balanced(let strength, let priorSpecification):
                let logPrior = try Self.logPrior(of: data.theta, under: priorSpecification, for: "the balanced loss")
                score = { tape, rows in
                    -BalancedPosteriorLoss.loss(estimator, theta: data.theta, x: data.x, logPrior: logPrior,
                                                rows: rows, strength: strength, tape: tape)
                }
                // The held-out log-probability, as for maximum likelihood: the penalty would
                // make the scores of balanced and plain members incomparable as ensemble weights.
                validationScore = Trainer.Score(rows: .independent, score: logProb)
            }
        case .classifier(let configuration):
            let classifier: RatioClassifier<Float>
            if let start {
                guard case .classifier(let previous) = start, previous.configuration == configuration else {
                    throw PosteriorError(.shapeMismatch, "member \(member): cannot continue training from a \(start.estimator.kindName) network of another configuration than this member's \(self.estimator.kindName)")
                }
                classifier = previous
            } else {
                classifier = RatioClassifier<Float>(configuration: configuration, rng: &rng)
                classifier.fitStandardization(parameters: data.theta.rows(at: trainingRows), data: data.x.rows(at: trainingRows))
            }
            model = .classifier(classifier)
            let ratio = ratio
            score = { tape, rows in
                -RatioLoss.loss(ratio, classifier: classifier, theta: data.theta.rows(at: rows), x: data.x.rows(at: rows), tape: tape)
            }
        }
        let (member, label) = (member, label)
        let summary = try Trainer(settings: training).train(
            parameters: model.parameters, training: trainingRows, validation: plan.validation, rng: &rng, rows: scoreRows, score: score,
            validationScore: validationScore, progress: { report in try observer?.epochFinished(member: member, label: label, report) })
        observer?.memberFinished(member: member, label: label, summary)
        return TrainedMember(job: self, model: model, summary: summary)
    }
}

extension EnsembleMemberJob {
    /// Whether a trained density of configuration `trained` is the network `planned`
    /// describes: equal but for the permutations, which building draws when `planned`
    /// leaves them open.
    static func sameNetwork(_ trained: DensityEstimatorConfiguration, _ planned: DensityEstimatorConfiguration) -> Bool {
        var planned = planned
        if planned.permutations == nil { planned.permutations = trained.permutations }
        return planned == trained
    }

    /// log p(θ) of every row under the prior a loss (`loss`, for its errors) compares with.
    static func logPrior(of theta: Matrix<Float>, under specification: PriorSpecification, for loss: String) throws -> [Float] {
        let prior = try specification.makePrior(source: "\(loss)'s prior")
        return prior.logProb(theta.converted(to: Double.self)).map(Float.init)
    }
}

/// A trained network: the density or classifier itself.
public enum TrainedModel {
    case density(any ConditionalDensityEstimator<Float>)
    case classifier(RatioClassifier<Float>)

    public var parameters: [Parameter<Float>] {
        switch self {
        case .density(let d): return d.parameters
        case .classifier(let c): return c.parameters
        }
    }

    /// The configuration that rebuilds it, including what was drawn at build time (permutations).
    public var estimator: MemberEstimator {
        switch self {
        case .density(let d): return .density(d.configuration)
        case .classifier(let c): return .classifier(c.configuration)
        }
    }

    /// Every tensor that defines the trained network (parameters and z-scoring).
    public func stateTensors() -> [String: Matrix<Float>] {
        switch self {
        case .density(let d): return d.stateTensors()
        case .classifier(let c): return c.stateTensors()
        }
    }

    /// The saved form (`ModelFiles`): a safetensors file with the configuration in its metadata.
    public func encoded() throws -> [UInt8] {
        switch self {
        case .density(let d): return try d.encoded()
        case .classifier(let c): return try c.encoded()
        }
    }

    /// Rebuilds a network from its saved form; `source` names the file or model version in errors.
    public static func decoding(_ bytes: [UInt8], source: String) throws -> TrainedModel {
        let saved: (tensors: [String: Matrix<Float>], configuration: MemberEstimator) =
            try ModelFiles.decode(bytes, as: MemberEstimator.self, source: source)
        return try TrainedModel(estimator: saved.configuration, tensors: saved.tensors, source: source)
    }

    /// The network `estimator` describes, with the weights in `tensors`.
    public init(estimator: MemberEstimator, tensors: [String: Matrix<Float>], source: String) throws {
        switch estimator {
        case .density(let configuration):
            self = .density(try makeDensityEstimator(configuration: configuration, tensors: tensors, source: source))
        case .classifier(let configuration):
            self = .classifier(try RatioClassifier<Float>(configuration: configuration, tensors: tensors, source: source))
        }
    }
}

/// One trained member with the job that made it and what training found.
public struct TrainedMember {
    public let job: EnsembleMemberJob
    public let model: TrainedModel
    public let summary: TrainingSummary
}

/// The split every member of an ensemble shares and each member's seed, from the
/// ensemble's seed alone: NPE, NLE and NRE on the same data and seed hold out the same rows.
struct EnsembleSplit {
    let training: [Int]
    let validation: [Int]
    let memberSeeds: [UInt64]

    init(rows: Int, members: Int, validationFraction: Double, seed: UInt64) {
        var rng = RandomSource(seed: seed)
        (training, validation) = SimulationDataset.split(count: rows, validationFraction: validationFraction, rng: &rng)
        memberSeeds = (0..<members).map { _ in rng.next() }
    }
}
