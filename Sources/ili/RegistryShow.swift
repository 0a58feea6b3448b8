import ArgumentParser
import Foundation
import ILIRegistry

/// `ili registry show ID`
struct RegistryShow: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show one record: an experiment, round, model version, posterior or training job.",
        discussion: """
            ID is a name from a listing (experiment-1, round-4, model-7, posterior-2, job-3, \
            validation-5) or an experiment's name. An experiment shows its rounds; a round its \
            training jobs; a posterior its members and validation results; a validation result \
            its figures and details. Weights are never printed: use `ili registry export` to \
            get them.
            """
    )

    @OptionGroup var options: RegistryOptions
    @Argument(help: "What to show, e.g. posterior-2 or an experiment name.") var id: String

    func run() throws {
        let registry = try options.open(createIfMissing: false)
        defer { registry.close() }
        guard let name = RecordName(parsing: id) else {
            return try showExperiment(try registry.experiment(named: id), registry)
        }
        switch name.kind {
        case .experiment: try showExperiment(try registry.experiment(id: name.recordId()), registry)
        case .round:
            let round = try registry.round(id: name.recordId())
            let experiment = try registry.experiment(id: round.experimentId).name
            let jobs = try registry.trainingJobs(round: round.id)
            if options.json {
                var object = RegistryOutput.object(round, experiment: experiment)
                object["trainingJobs"] = jobs.map(RegistryOutput.object)
                return try RegistryOutput.print(json: object)
            }
            print(RegistryOutput.fields([
                ("round", name.text), ("experiment", experiment), ("index", String(round.index)), ("status", round.status.rawValue),
                ("strategy", round.strategy), ("proposal", round.proposal), ("target", String(round.targetCount)),
                ("simulations", "\(round.validSimulations) valid, \(round.invalidSimulations) invalid"),
                ("failure", round.failure ?? "-"), ("created", RegistryOutput.time(round.createdAt)),
                ("updated", RegistryOutput.time(round.updatedAt)), ("finished", RegistryOutput.time(round.finishedAt)),
            ]))
            if !jobs.isEmpty {
                print("\ntraining jobs\n" + RegistryOutput.table(["ID", "MEMBER", "STATUS", "CLAIMED BY", "ATTEMPTS", "MODEL"], jobs.map {
                    [RecordName(.job, $0.id).text, String($0.member), $0.status.rawValue, $0.claimedBy ?? "-", String($0.attempts),
                     $0.modelVersion.map { RecordName(.model, $0).text } ?? "-"]
                }))
            }
        case .model:
            let model = try registry.modelVersion(id: name.recordId())
            if options.json { return try RegistryOutput.print(json: RegistryOutput.object(model)) }
            print(RegistryOutput.fields([
                ("model", name.text), ("experiment", try registry.experiment(id: model.experimentId).name),
                ("round", String(model.roundIndex)), ("method", model.method), ("member", String(model.member)),
                ("estimator", model.estimator), ("weights", "\(model.weightsByteCount) bytes, sha256 \(model.weightsSHA256)"),
                ("training", model.trainingSummary), ("created", RegistryOutput.time(model.createdAt)),
            ]))
        case .validation:
            let result = try registry.validationResult(id: name.recordId())
            if options.json {
                var object = RegistryOutput.object(result)
                object["posterior"] = RecordName(.posterior, result.posterior).text
                return try RegistryOutput.print(json: object)
            }
            print(RegistryOutput.fields([
                ("validation", name.text), ("posterior", RecordName(.posterior, result.posterior).text),
                ("metric", result.metric), ("value", result.value.map { String(format: "%.6g", $0) } ?? "-"),
                ("passed", result.passed ? "yes" : "no"),
                ("plots", result.plotFiles.isEmpty ? "-" : result.plotFiles.joined(separator: ", ")),
                ("created", RegistryOutput.time(result.createdAt)), ("details", result.details),
            ]))
        case .posterior:
            let posterior = try registry.posterior(id: name.recordId())
            try printPosterior(posterior, registry, json: options.json)
        case .job:
            let job = try registry.trainingJob(id: name.recordId())
            if options.json { return try RegistryOutput.print(json: RegistryOutput.object(job)) }
            print(RegistryOutput.fields([
                ("job", name.text), ("round", RecordName(.round, job.round).text), ("member", String(job.member)),
                ("status", job.status.rawValue), ("config", job.config), ("claimed by", job.claimedBy ?? "-"),
                ("heartbeat", RegistryOutput.time(job.heartbeatAt)), ("attempts", String(job.attempts)),
                ("model", job.modelVersion.map { RecordName(.model, $0).text } ?? "-"), ("failure", job.failure ?? "-"),
            ]))
        }
    }

    private func showExperiment(_ experiment: Experiment, _ registry: Registry) throws {
        let rounds = try registry.rounds(experiment: experiment.name)
        if options.json {
            var object = RegistryOutput.object(experiment)
            object["rounds"] = rounds.map { RegistryOutput.object($0, experiment: experiment.name) }
            return try RegistryOutput.print(json: object)
        }
        print(RegistryOutput.fields([
            ("experiment", RecordName(.experiment, experiment.id).text), ("name", experiment.name),
            ("theta", "\(experiment.thetaDimension) floats"), ("x shape", "[" + experiment.xShape.map(String.init).joined(separator: ",") + "]"),
            ("prior", experiment.prior), ("config", experiment.config), ("created", RegistryOutput.time(experiment.createdAt)),
        ]))
        print("\nrounds\n" + RegistryOutput.table(["ID", "ROUND", "STATUS", "VALID", "INVALID"], rounds.map {
            [RecordName(.round, $0.id).text, String($0.index), $0.status.rawValue, String($0.validSimulations), String($0.invalidSimulations)]
        }))
    }
}

/// Prints a posterior with its members and validation results (show and latest).
func printPosterior(_ posterior: RegisteredPosterior, _ registry: Registry, json: Bool) throws {
    let round = try registry.round(id: posterior.round)
    let validations = try registry.validationResults(posterior: posterior.id)
    if json {
        var object = RegistryOutput.object(posterior, roundIndex: round.index)
        object["experiment"] = try registry.experiment(id: posterior.experimentId).name
        object["validation"] = validations.map(RegistryOutput.object)
        return try RegistryOutput.print(json: object)
    }
    print(RegistryOutput.posteriorText(posterior, roundIndex: round.index, experiment: try registry.experiment(id: posterior.experimentId).name,
                                       validations: validations))
}
