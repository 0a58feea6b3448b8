import ILIInference
import ILIRegistry

/// A training job as the registry stores it in `training_jobs.config`: the member's job,
/// the model version whose weights it starts from when it continues a network
/// (`continuesFrom`, absent for fresh weights), and, in a hyperparameter search, which
/// trial and rung it trains (`search`).
///
/// The job's fields sit at the top level of the JSON object, next to `continuesFrom`, so
/// that configurations stored before warm starts existed read back as fresh-weight jobs.
public struct StoredTrainingJob: Codable, Sendable, Equatable {
    public var job: EnsembleMemberJob
    public var continuesFrom: ModelVersionID?
    public var search: SearchSlot?

    public init(job: EnsembleMemberJob, continuesFrom: ModelVersionID? = nil, search: SearchSlot? = nil) {
        self.job = job
        self.continuesFrom = continuesFrom
        self.search = search
    }

    private enum CodingKeys: String, CodingKey { case continuesFrom, search }

    public init(from decoder: any Decoder) throws {
        job = try EnsembleMemberJob(from: decoder)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        continuesFrom = try c.decodeIfPresent(ModelVersionID.self, forKey: .continuesFrom)
        search = try c.decodeIfPresent(SearchSlot.self, forKey: .search)
    }

    public func encode(to encoder: any Encoder) throws {
        try job.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(continuesFrom, forKey: .continuesFrom)
        try c.encodeIfPresent(search, forKey: .search)
    }
}

extension TrainingJob {
    /// What the job trains, as messages name it: `member 2`, or for a search
    /// `search trial 3 (model=nsf learning_rate=1e-3), rung 1`.
    public var trainedUnit: String {
        guard let slot = try? RegistryMapping.storedJob(self).search else { return "member \(member)" }
        return "search trial \(slot.trial) (\(slot.choices.map { "\($0.key)=\($0.value)" }.joined(separator: " "))), rung \(slot.rung)"
    }
}

/// A search's training job: trial `trial` (its choices as written) in rung `rung`.
public struct SearchSlot: Codable, Sendable, Equatable {
    public var trial: Int
    public var rung: Int
    public var choices: [SearchTrial.Choice]

    public init(trial: Int, rung: Int, choices: [SearchTrial.Choice]) {
        self.trial = trial
        self.rung = rung
        self.choices = choices
    }
}
