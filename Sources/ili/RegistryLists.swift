import ArgumentParser
import Foundation
import ILIRegistry

/// `ili registry experiments`
struct RegistryExperiments: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "experiments",
        abstract: "List the experiments, oldest first.",
        discussion: "One line per experiment: its id, name, θ width, x shape and when it was created."
    )

    @OptionGroup var options: RegistryOptions

    func run() throws {
        let registry = try options.open(createIfMissing: false)
        defer { registry.close() }
        let experiments = try registry.experiments()
        if options.json { return try RegistryOutput.print(json: experiments.map(RegistryOutput.object)) }
        print(RegistryOutput.table(["ID", "NAME", "THETA", "X", "CREATED"], experiments.map {
            [RecordName(.experiment, $0.id).text, $0.name, String($0.thetaDimension),
             "[" + $0.xShape.map(String.init).joined(separator: ",") + "]", RegistryOutput.time($0.createdAt)]
        }))
    }
}

/// `ili registry rounds --experiment NAME`
struct RegistryRounds: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rounds",
        abstract: "List an experiment's rounds: status, simulations, timing, posterior and verdict.",
        discussion: """
            Status is one of planned, simulating, training, validating, done, failed. VALID and \
            INVALID count the stored training simulations; TARGET is how many the round asked \
            for; TEST counts its valid held-out test simulations. SECONDS is the time from \
            opening the round to finishing it (or until now). POSTERIOR is the round's posterior, \
            VERDICT its stored verdict (passed, failed, or - when not judged) and CALIBRATED \
            whether a passing verdict marked it.
            """
    )

    @OptionGroup var options: RegistryOptions
    @Option(name: .long, help: "The experiment's name.") var experiment: String

    func run() throws {
        let registry = try options.open(createIfMissing: false)
        defer { registry.close() }
        let rounds = try registry.rounds(experiment: experiment)
        let outcomes = try rounds.map { round -> RoundOutcome in
            guard let posterior = try registry.posteriors(round: round.id).last else { return RoundOutcome() }
            let verdict = try registry.validationResults(posterior: posterior.id).last { $0.metric == "verdict" }
            return RoundOutcome(posterior: posterior, verdict: verdict)
        }
        if options.json {
            return try RegistryOutput.print(json: zip(rounds, outcomes).map { round, outcome in
                var object = RegistryOutput.object(round, experiment: experiment)
                object["seconds"] = outcome.seconds(round)
                object["posterior"] = outcome.posterior.map { RecordName(.posterior, $0.id).text } ?? NSNull()
                object["verdictPassed"] = outcome.verdict.map(\.passed) ?? NSNull()
                object["calibrated"] = outcome.posterior?.calibrated ?? false
                return object
            })
        }
        print(RegistryOutput.table(["ID", "ROUND", "STATUS", "STRATEGY", "VALID", "INVALID", "TARGET", "TEST", "SECONDS", "POSTERIOR",
                                    "VERDICT", "CALIBRATED", "UPDATED"], zip(rounds, outcomes).map { r, o in
            [RecordName(.round, r.id).text, String(r.index), r.status.rawValue, r.strategy, String(r.validSimulations),
             String(r.invalidSimulations), String(r.targetCount), String(r.validTestSimulations), String(format: "%.1f", o.seconds(r)),
             o.posterior.map { RecordName(.posterior, $0.id).text } ?? "-", o.verdict.map { $0.passed ? "passed" : "failed" } ?? "-",
             o.posterior.map { $0.calibrated ? "yes" : "no" } ?? "-", RegistryOutput.time(r.updatedAt)]
        }))
    }
}

/// `ili registry models --experiment NAME`
struct RegistryModels: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "List an experiment's model versions (trained estimators).",
        discussion: "One line per model version: its round, method, ensemble member, weight size and SHA-256 prefix."
    )

    @OptionGroup var options: RegistryOptions
    @Option(name: .long, help: "The experiment's name.") var experiment: String

    func run() throws {
        let registry = try options.open(createIfMissing: false)
        defer { registry.close() }
        let models = try registry.modelVersions(experiment: experiment)
        if options.json { return try RegistryOutput.print(json: models.map(RegistryOutput.object)) }
        print(RegistryOutput.table(["ID", "ROUND", "METHOD", "MEMBER", "BYTES", "SHA256", "CREATED"], models.map {
            [RecordName(.model, $0.id).text, String($0.roundIndex), $0.method, String($0.member), String($0.weightsByteCount),
             String($0.weightsSHA256.prefix(12)), RegistryOutput.time($0.createdAt)]
        }))
    }
}

/// `ili registry posteriors --experiment NAME [--calibrated]`
struct RegistryPosteriors: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "posteriors",
        abstract: "List an experiment's posteriors (ensembles of model versions).",
        discussion: "CALIBRATED is yes only for a posterior that a stored passing validation verdict marked calibrated."
    )

    @OptionGroup var options: RegistryOptions
    @Option(name: .long, help: "The experiment's name.") var experiment: String
    @Flag(name: .long, help: "Only calibrated posteriors.") var calibrated = false

    func run() throws {
        let registry = try options.open(createIfMissing: false)
        defer { registry.close() }
        let posteriors = try registry.posteriors(experiment: experiment, calibratedOnly: calibrated)
        let roundIndex = Dictionary(uniqueKeysWithValues: try registry.rounds(experiment: experiment).map { ($0.id, $0.index) })
        if options.json {
            return try RegistryOutput.print(json: posteriors.map { RegistryOutput.object($0, roundIndex: roundIndex[$0.round] ?? -1) })
        }
        print(RegistryOutput.table(["ID", "ROUND", "METHOD", "MEMBERS", "CALIBRATED", "CREATED"], posteriors.map {
            [RecordName(.posterior, $0.id).text, String(roundIndex[$0.round] ?? -1), $0.method, String($0.members.count),
             $0.calibrated ? "yes" : "no", RegistryOutput.time($0.createdAt)]
        }))
    }
}

/// What became of a round: its posterior and that posterior's stored verdict.
private struct RoundOutcome {
    var posterior: RegisteredPosterior?
    var verdict: ValidationResult?

    /// Seconds from opening the round to finishing it, or until now while it runs.
    func seconds(_ round: Round) -> Double { (round.finishedAt ?? Date()).timeIntervalSince(round.createdAt) }
}
