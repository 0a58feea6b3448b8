import Foundation

/// `posterior.json`: what a posterior is. The one definition of the file, which `ili
/// train`, `ili run` and `ili registry export` write and every reader decodes; specified
/// in schemas/posterior-directory.md.
public struct PosteriorManifest: Codable, Sendable, Equatable {
    public static let fileName = "posterior.json"
    public static let currentFormatVersion = 1

    public var format = "ili-posterior"
    public var formatVersion = PosteriorManifest.currentFormatVersion
    /// The registry's id of the posterior; nil when it was never registered.
    public var posterior: Int64?
    public var experiment: String
    /// The latest round any member was trained in.
    public var round: Int
    public var method: InferenceMethod
    public var prior: PriorSpecification
    public var thetaDimension: Int
    public var xShape: [Int]
    public var calibrated: Bool
    public var calibratedBy: CalibrationEvidence?
    public var members: [Member]
    /// NLE and NRE: how `ili sample` samples the posterior by default.
    public var sampler: SamplerSettings?
    /// NRE: the loss that trained the classifiers.
    public var ratio: RatioEstimationSettings?

    public struct Member: Codable, Sendable, Equatable {
        public var index: Int
        /// The registry's model version; nil when it was never registered.
        public var modelVersion: Int64?
        /// The member's share of the mixture; the weights sum to 1.
        public var weight: Double
        public var estimator: MemberEstimator
        /// The weights file, relative to the directory.
        public var weights: String
        /// SHA-256 of that file, 64 lowercase hex digits.
        public var sha256: String

        public init(index: Int, modelVersion: Int64?, weight: Double, estimator: MemberEstimator, weights: String, sha256: String) {
            self.index = index
            self.modelVersion = modelVersion
            self.weight = weight
            self.estimator = estimator
            self.weights = weights
            self.sha256 = sha256
        }

        private enum CodingKeys: String, CodingKey { case index, modelVersion, weight, estimator, weights, sha256 }

        // Absent registry ids are written as null: the key says the member was never registered.
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(index, forKey: .index)
            try c.encode(modelVersion, forKey: .modelVersion)
            try c.encode(weight, forKey: .weight)
            try c.encode(estimator, forKey: .estimator)
            try c.encode(weights, forKey: .weights)
            try c.encode(sha256, forKey: .sha256)
        }
    }

    /// The stored passing verdict that made the posterior calibrated.
    public struct CalibrationEvidence: Codable, Sendable, Equatable {
        public var validationResult: Int64
        public var metric: String
        public var value: Double?
        public var details: JSONValue

        public init(validationResult: Int64, metric: String, value: Double?, details: JSONValue) {
            self.validationResult = validationResult
            self.metric = metric
            self.value = value
            self.details = details
        }
    }

    public var xDimension: Int { xShape.reduce(1, *) }

    public init(posterior: Int64? = nil, experiment: String, round: Int, method: InferenceMethod, prior: PriorSpecification,
                thetaDimension: Int, xShape: [Int], calibrated: Bool = false, calibratedBy: CalibrationEvidence? = nil,
                members: [Member], sampler: SamplerSettings? = nil, ratio: RatioEstimationSettings? = nil) {
        self.posterior = posterior
        self.experiment = experiment
        self.round = round
        self.method = method
        self.prior = prior
        self.thetaDimension = thetaDimension
        self.xShape = xShape
        self.calibrated = calibrated
        self.calibratedBy = calibratedBy
        self.members = members
        self.sampler = sampler
        self.ratio = ratio
    }

    private enum CodingKeys: String, CodingKey {
        case format, formatVersion, posterior, experiment, round, method, prior, thetaDimension, xShape, calibrated,
             calibratedBy, members, sampler, ratio
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        format = try c.decode(String.self, forKey: .format)
        guard format == "ili-posterior" else {
            throw DecodingError.dataCorruptedError(forKey: .format, in: c, debugDescription: "\"format\" is \"\(format)\", not \"ili-posterior\"")
        }
        formatVersion = try c.decode(Int.self, forKey: .formatVersion)
        guard formatVersion <= Self.currentFormatVersion else {
            throw DecodingError.dataCorruptedError(forKey: .formatVersion, in: c, debugDescription:
                "formatVersion \(formatVersion) is newer than this ili reads (\(Self.currentFormatVersion)); upgrade ili")
        }
        posterior = try c.decodeIfPresent(Int64.self, forKey: .posterior)
        experiment = try c.decode(String.self, forKey: .experiment)
        round = try c.decode(Int.self, forKey: .round)
        let methodName = try c.decode(String.self, forKey: .method)
        guard let method = InferenceMethod(displayName: methodName) else {
            throw DecodingError.dataCorruptedError(forKey: .method, in: c, debugDescription:
                "method \"\(methodName)\" is not one this ili can load (NPE, NLE, NRE)")
        }
        self.method = method
        prior = try c.decode(PriorSpecification.self, forKey: .prior)
        thetaDimension = try c.decode(Int.self, forKey: .thetaDimension)
        xShape = try c.decode([Int].self, forKey: .xShape)
        calibrated = try c.decode(Bool.self, forKey: .calibrated)
        calibratedBy = try c.decodeIfPresent(CalibrationEvidence.self, forKey: .calibratedBy)
        members = try c.decode([Member].self, forKey: .members)
        sampler = try c.decodeIfPresent(SamplerSettings.self, forKey: .sampler)
        ratio = try c.decodeIfPresent(RatioEstimationSettings.self, forKey: .ratio)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(format, forKey: .format)
        try c.encode(formatVersion, forKey: .formatVersion)
        // Absent registry ids are written as null: the key says the posterior was never registered.
        try c.encode(posterior, forKey: .posterior)
        try c.encode(experiment, forKey: .experiment)
        try c.encode(round, forKey: .round)
        try c.encode(method.displayName, forKey: .method)
        try c.encode(prior, forKey: .prior)
        try c.encode(thetaDimension, forKey: .thetaDimension)
        try c.encode(xShape, forKey: .xShape)
        try c.encode(calibrated, forKey: .calibrated)
        try c.encode(calibratedBy, forKey: .calibratedBy)
        try c.encode(members, forKey: .members)
        try c.encodeIfPresent(sampler, forKey: .sampler)
        try c.encodeIfPresent(ratio, forKey: .ratio)
    }
}

/// `training.json`: how a posterior was trained. Specified in schemas/posterior-directory.md.
public struct TrainingRecord: Codable, Sendable, Equatable {
    public static let fileName = "training.json"

    public var formatVersion = PosteriorManifest.currentFormatVersion
    public var experiment: String
    /// The configuration file the posterior was trained from, verbatim (YAML text).
    public var experimentConfig: String?
    public var rounds: [Round]
    public var members: [Member]

    public struct Round: Codable, Sendable, Equatable {
        public var round: Int
        public var strategy: String
        public var status: String
        public var validSimulations: Int
        public var invalidSimulations: Int

        public init(round: Int, strategy: String, status: String, validSimulations: Int, invalidSimulations: Int) {
            self.round = round
            self.strategy = strategy
            self.status = status
            self.validSimulations = validSimulations
            self.invalidSimulations = invalidSimulations
        }
    }

    public struct Member: Codable, Sendable, Equatable {
        public var index: Int
        public var modelVersion: Int64?
        /// The round the member was trained in.
        public var round: Int
        /// Its position in the ensemble of that round.
        public var ensembleMember: Int
        /// The training job: estimator, loss, training settings, seed, member index.
        public var job: EnsembleMemberJob?
        public var summary: TrainingSummary
        /// ISO 8601.
        public var createdAt: String

        public init(index: Int, modelVersion: Int64?, round: Int, ensembleMember: Int, job: EnsembleMemberJob?,
                    summary: TrainingSummary, createdAt: String) {
            self.index = index
            self.modelVersion = modelVersion
            self.round = round
            self.ensembleMember = ensembleMember
            self.job = job
            self.summary = summary
            self.createdAt = createdAt
        }
    }

    public init(experiment: String, experimentConfig: String?, rounds: [Round], members: [Member]) {
        self.experiment = experiment
        self.experimentConfig = experimentConfig
        self.rounds = rounds
        self.members = members
    }
}

extension Date {
    /// ISO 8601 with fractional seconds, as the archive files write times.
    public var iso8601: String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: self)
    }
}
