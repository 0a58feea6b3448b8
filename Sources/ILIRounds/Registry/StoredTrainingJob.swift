import ILIInference
import ILIRegistry

/// A training job as the registry stores it in `training_jobs.config`: the member's job,
/// and the model version whose weights it starts from when it continues a previous
/// round's member (`continuesFrom`, absent for fresh weights).
///
/// The job's fields sit at the top level of the JSON object, next to `continuesFrom`, so
/// that configurations stored before warm starts existed read back as fresh-weight jobs.
public struct StoredTrainingJob: Codable, Sendable, Equatable {
    public var job: EnsembleMemberJob
    public var continuesFrom: ModelVersionID?

    public init(job: EnsembleMemberJob, continuesFrom: ModelVersionID? = nil) {
        self.job = job
        self.continuesFrom = continuesFrom
    }

    private enum CodingKeys: String, CodingKey { case continuesFrom }

    public init(from decoder: any Decoder) throws {
        job = try EnsembleMemberJob(from: decoder)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        continuesFrom = try c.decodeIfPresent(ModelVersionID.self, forKey: .continuesFrom)
    }

    public func encode(to encoder: any Encoder) throws {
        try job.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(continuesFrom, forKey: .continuesFrom)
    }
}
