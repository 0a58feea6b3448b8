import Foundation
import ILIInference
import ILIRegistry

/// Records what `ili train --registry` produced: the simulations it trained on, one
/// training job and model version per member, and the posterior, as a new round (strategy
/// `files`) of an experiment, so that the file-based workflow feeds the same registry as
/// `ili run`. The round is left done; `ili validate --registry` judges the posterior later.
public enum FileTrainingRecording {
    /// Records `outcome` (trained on `data` as `configuration` says) into experiment
    /// `experiment`, created when it does not exist; returns the registered posterior.
    public static func record(_ outcome: FileTrainer.Outcome, data: SimulationDataset, configuration: TrainConfiguration,
                              experiment name: String, registry: Registry) throws -> RegisteredPosterior {
        let prior = try configuration.prior.makePrior(source: configuration.source)
        let xCount = data.x.cols
        let experiment = try existingOrNew(name, registry: registry, configuration: configuration, thetaDimension: prior.dimension,
                                           xCount: xCount)
        let proposal = try ArchiveJSON.text(["theta": configuration.thetaPath, "x": configuration.xPath,
                                             "droppedRows": String(data.droppedRows)])
        let round = try registry.openRound(experiment: experiment.name, strategy: "files", proposal: proposal, targetCount: data.count)
        try registry.advanceRound(id: round.id, to: .simulating)
        let worker = "ili-train@\(ProcessInfo.processInfo.hostName):\(getpid())"
        let batch = 5_000
        for start in stride(from: 0, to: data.count, by: batch) {
            let records = (start..<min(start + batch, data.count)).map { i in
                SimulationRecord(taskId: "\(experiment.name)/r\(round.index)/files/\(i)", theta: data.theta.row(i), x: data.x.row(i))
            }
            try registry.appendSimulations(round: round.id, records, worker: worker)
        }
        try registry.advanceRound(id: round.id, to: .training)
        var versions: [ModelVersionID] = []
        for member in outcome.members {
            _ = try registry.enqueueTrainingJob(round: round.id, member: member.job.member, config: try ArchiveJSON.text(member.job))
            guard let job = try registry.claimTrainingJob(worker: worker, round: round.id) else {
                throw RegistryError(.invalidTransition, "round \(round.index): the training job of member \(member.job.member) could not be claimed")
            }
            let (_, version) = try registry.finishTrainingJob(id: job.id, worker: worker,
                                                               registering: try RegistryMapping.modelVersionSpec(member, round: round.id))
            versions.append(version.id)
        }
        let inference = configuration.inference
        let settings = PosteriorSettings(sampler: inference.method.usesMCMC ? inference.sampler : nil,
                                         ratio: inference.method == .nre ? inference.ratio : nil)
        let posterior = try registry.createPosterior(members: zip(versions, outcome.weights).map { ($0, $1) },
                                                     settings: try ArchiveJSON.text(settings))
        try registry.advanceRound(id: round.id, to: .validating)
        try registry.advanceRound(id: round.id, to: .done)
        return posterior
    }

    static func existingOrNew(_ name: String, registry: Registry, configuration: TrainConfiguration, thetaDimension: Int,
                              xCount: Int) throws -> Experiment {
        do {
            let experiment = try registry.experiment(named: name)
            guard experiment.thetaDimension == thetaDimension, experiment.xCount == xCount else {
                throw RegistryError(.invalidInput, "experiment \(name) holds θ of \(experiment.thetaDimension) and x of \(experiment.xCount) values; these simulations have θ \(thetaDimension) and x \(xCount): record them under another --experiment")
            }
            guard try RegistryMapping.prior(of: experiment) == configuration.prior else {
                throw RegistryError(.invalidInput, "experiment \(name) has a different prior than \(configuration.source): record this posterior under another --experiment")
            }
            return experiment
        } catch let error as RegistryError where error.code == .unknownExperiment {
            return try registry.createExperiment(ExperimentSpec(
                name: name, config: try ArchiveJSON.text(["source": configuration.source, "configuration": configuration.text]),
                prior: try ArchiveJSON.text(configuration.prior), thetaDimension: thetaDimension, xShape: [xCount]))
        }
    }
}
