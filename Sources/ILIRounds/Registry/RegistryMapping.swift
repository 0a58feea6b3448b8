import Foundation
import ILIInference
import ILIRegistry

/// The one mapping between ili's typed values and the registry's JSON columns: what
/// `ili run` stores, and what `ili registry export`, `ili sample --registry` and trainer
/// workers read back.
///
/// | registry column | holds |
/// | --- | --- |
/// | `experiments.prior` | a `PriorSpecification` |
/// | `experiments.config` | the configuration's identity and its text |
/// | `rounds.proposal` | a `ProposalDescription` |
/// | `training_jobs.config` | a `StoredTrainingJob` (an `EnsembleMemberJob` and the model version it continues from) |
/// | `model_versions.method` | an `InferenceMethod`'s display name (`NPE`) |
/// | `model_versions.estimator` | a `MemberEstimator` |
/// | `model_versions.training_summary` | a `ModelVersionRecord` (the job and its `TrainingSummary`) |
/// | `posteriors.settings` | a `PosteriorSettings` |
public enum RegistryMapping {
    public static func prior(of experiment: Experiment) throws -> PriorSpecification {
        try decode(PriorSpecification.self, experiment.prior, "experiment \(experiment.name)'s prior")
    }

    public static func proposal(of round: Round) throws -> ProposalDescription {
        try decode(ProposalDescription.self, round.proposal, "round \(round.index)'s proposal")
    }

    public static func job(_ job: TrainingJob) throws -> EnsembleMemberJob {
        try storedJob(job).job
    }

    public static func storedJob(_ job: TrainingJob) throws -> StoredTrainingJob {
        try decode(StoredTrainingJob.self, job.config, "training job \(job.id)'s configuration")
    }

    public static func method(of version: ModelVersion) throws -> InferenceMethod {
        guard let method = InferenceMethod(displayName: version.method) else {
            throw RegistryError(.invalidInput, "model version \(version.id) has method \(version.method), which this ili cannot load (NPE, NLE, NRE)")
        }
        return method
    }

    public static func estimator(of version: ModelVersion) throws -> MemberEstimator {
        try decode(MemberEstimator.self, version.estimator, "model version \(version.id)'s estimator")
    }

    public static func record(of version: ModelVersion) throws -> ModelVersionRecord {
        try decode(ModelVersionRecord.self, version.trainingSummary, "model version \(version.id)'s training summary")
    }

    public static func settings(of posterior: RegisteredPosterior) throws -> PosteriorSettings {
        try decode(PosteriorSettings.self, posterior.settings, "posterior \(posterior.id)'s settings")
    }

    /// What registering a trained member stores.
    public static func modelVersionSpec(_ member: TrainedMember, round: RoundID) throws -> ModelVersionSpec {
        ModelVersionSpec(round: round, method: member.job.method.displayName,
                         estimator: try ArchiveJSON.text(member.model.estimator), member: member.job.member,
                         weights: try member.model.encoded(),
                         trainingSummary: try ArchiveJSON.text(ModelVersionRecord(job: member.job, summary: member.summary)))
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String, _ what: String) throws -> T {
        do {
            return try ArchiveJSON.decode(type, from: text)
        } catch {
            throw RegistryError(.invalidInput, "\(what) is not what ili writes (was it stored by another program?): \(error)")
        }
    }
}

/// The configuration text an experiment's stored configuration carries.
struct ConfigurationText: Decodable {
    var configuration: String
}

/// A model version's training record: the job that trained it and what training found.
public struct ModelVersionRecord: Codable, Sendable, Equatable {
    public var job: EnsembleMemberJob
    public var summary: TrainingSummary
}

/// What samples a registered posterior besides its members.
public struct PosteriorSettings: Codable, Sendable, Equatable {
    /// NLE and NRE: the MCMC sampler.
    public var sampler: SamplerSettings?
    /// NRE: the classifiers' loss.
    public var ratio: RatioEstimationSettings?

    public init(sampler: SamplerSettings?, ratio: RatioEstimationSettings?) {
        self.sampler = sampler
        self.ratio = ratio
    }
}

/// Registered posteriors as archives and as posteriors to sample.
public enum RegistryArchives {
    /// Posterior `id` with everything `posterior.json` and `training.json` record.
    public static func archive(_ registry: Registry, id: PosteriorID) throws -> PosteriorArchive {
        let posterior = try registry.posterior(id: id)
        let experiment = try registry.experiment(id: posterior.experimentId)
        let rounds = try registry.rounds(experiment: experiment.name)
        guard let round = rounds.first(where: { $0.id == posterior.round }) else {
            throw RegistryError(.unknownRound, "posterior \(id) belongs to round id \(posterior.round), which its experiment does not list")
        }
        guard let method = InferenceMethod(displayName: posterior.method) else {
            throw RegistryError(.invalidInput, "posterior \(id) has method \(posterior.method), which this ili cannot load (NPE, NLE, NRE)")
        }
        let settings = try RegistryMapping.settings(of: posterior)
        var members: [PosteriorManifest.Member] = []
        var trainingMembers: [TrainingRecord.Member] = []
        var files: [[UInt8]] = []
        for member in posterior.members {
            let version = try registry.modelVersion(id: member.modelVersion)
            let weights = try registry.modelWeights(id: version.id)
            let record = try? RegistryMapping.record(of: version)
            members.append(.init(index: member.index, modelVersion: version.id.rawValue, weight: member.weight,
                                 estimator: try RegistryMapping.estimator(of: version),
                                 weights: PosteriorArchive.memberFile(member.index), sha256: version.weightsSHA256))
            if let record {
                trainingMembers.append(.init(index: member.index, modelVersion: version.id.rawValue, round: version.roundIndex,
                                             ensembleMember: version.member, job: record.job, summary: record.summary,
                                             createdAt: version.createdAt.iso8601))
            }
            files.append(weights)
        }
        var evidence: PosteriorManifest.CalibrationEvidence?
        if let by = posterior.calibratedBy,
           let result = try registry.validationResults(posterior: id).first(where: { $0.id == by }) {
            evidence = .init(validationResult: result.id.rawValue, metric: result.metric, value: result.value,
                             details: JSONValue(text: result.details) ?? .string(result.details))
        }
        // `ili run` and `ili train --registry` both keep the configuration's text under "configuration".
        let stored = try? ArchiveJSON.decode(ConfigurationText.self, from: experiment.config)
        let manifest = PosteriorManifest(
            posterior: posterior.id.rawValue, experiment: experiment.name, round: round.index, method: method,
            prior: try RegistryMapping.prior(of: experiment), thetaDimension: experiment.thetaDimension, xShape: experiment.xShape,
            calibrated: posterior.calibrated, calibratedBy: evidence, members: members,
            sampler: method.usesMCMC ? (settings.sampler ?? SamplerSettings()) : nil, ratio: method == .nre ? settings.ratio : nil)
        let training = TrainingRecord(
            experiment: experiment.name, experimentConfig: stored?.configuration ?? experiment.config,
            rounds: rounds.filter { $0.index <= round.index }.map {
                .init(round: $0.index, strategy: $0.strategy, status: $0.status.rawValue,
                      validSimulations: $0.validSimulations, invalidSimulations: $0.invalidSimulations)
            },
            members: trainingMembers)
        return PosteriorArchive(manifest: manifest, training: training, memberFiles: files)
    }

    /// Posterior `id`, ready to sample.
    public static func posterior(_ registry: Registry, id: PosteriorID) throws -> any Posterior {
        try archive(registry, id: id).makePosterior(source: "posterior \(id) of \(registry.url.redacted)")
    }

    /// Writes posterior `id` as a posterior directory (`ili registry export`); the
    /// directory must be new or empty. Returns the files written, relative to it.
    @discardableResult
    public static func export(_ registry: Registry, id: PosteriorID, to directory: String) throws -> [String] {
        let archive = try archive(registry, id: id)
        try archive.write(to: directory)
        return [PosteriorManifest.fileName, TrainingRecord.fileName] + archive.memberFiles.indices.map(PosteriorArchive.memberFile)
    }
}
