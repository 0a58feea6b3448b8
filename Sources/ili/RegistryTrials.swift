import ArgumentParser
import Foundation
import ILIInference
import ILIRegistry
import ILIRounds
import ILIValidation

/// `ili registry trials --experiment NAME [--round N] [--plot FILE.svg]`
struct RegistryTrials: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trials",
        abstract: "List the hyperparameter search trials of an experiment's rounds (inference.search), and plot them.",
        discussion: """
            One line per training job of a search: the trial, the successive-halving rung it \
            trained in, the values it tried, its epochs and the best validation score of that \
            rung (mean held-out log-probability; for NRE the negated loss), the job's status \
            and, for the network the round's posterior keeps, its place in the ensemble \
            (MEMBER, 0 = best). With --plot, the chosen round's trials (the newest searched \
            round unless --round says) are drawn as search.svg is: each trial's best score \
            against each value it tried.
            """
    )

    @OptionGroup var options: RegistryOptions
    @Option(name: .long, help: "The experiment's name.") var experiment: String
    @Option(name: .long, help: "Only this round (its index).") var round: Int?
    @Option(name: .long, help: ArgumentHelp("Write the round's trials as an SVG figure here.", valueName: "file.svg")) var plot: String?

    struct Row {
        var round: Round
        var job: TrainingJob
        var slot: SearchSlot
        var summary: TrainingSummary?
        var member: Int?
        var version: ModelVersion?
    }

    func run() throws {
        let registry = try options.open(createIfMissing: false)
        defer { registry.close() }
        let rounds = try registry.rounds(experiment: experiment).filter { round == nil || $0.index == round }
        if let round, rounds.isEmpty { throw CommandFailure("experiment \(experiment) has no round \(round)") }
        var rows: [Row] = []
        for r in rounds {
            // The networks the round's posterior keeps, by model version: their place in it.
            let kept = Dictionary(try registry.posteriors(round: r.id).last?.members.map { ($0.modelVersion, $0.index) } ?? [],
                                  uniquingKeysWith: { first, _ in first })
            for job in try registry.trainingJobs(round: r.id) {
                guard let slot = try RegistryMapping.storedJob(job).search else { continue }
                let version = try job.modelVersion.map { try registry.modelVersion(id: $0) }
                rows.append(Row(round: r, job: job, slot: slot, summary: try version.map { try RegistryMapping.record(of: $0).summary },
                                member: job.modelVersion.flatMap { kept[$0] }, version: version))
            }
        }
        if let plot { try writePlot(rows, to: plot) }
        if options.json {
            return try RegistryOutput.print(json: rows.map { row -> [String: Any] in
                [
                    "job": RecordName(.job, row.job.id).text, "round": row.round.index, "trial": row.slot.trial, "rung": row.slot.rung,
                    "choices": Dictionary(row.slot.choices.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first }),
                    "epochs": row.summary.map { $0.epochs as Any } ?? NSNull(),
                    "score": row.summary.map { $0.bestValidationScore as Any } ?? NSNull(),
                    "status": row.job.status.rawValue, "member": row.member.map { $0 as Any } ?? NSNull(),
                ]
            })
        }
        guard !rows.isEmpty else {
            print("experiment \(experiment) has no search trials\(round.map { " in round \($0)" } ?? "") (its configuration has no inference.search, or no round has trained yet)")
            return
        }
        print(RegistryOutput.table(["JOB", "ROUND", "TRIAL", "RUNG", "CHOICES", "EPOCHS", "SCORE", "STATUS", "MEMBER"], rows.map { row in
            [RecordName(.job, row.job.id).text, String(row.round.index), String(row.slot.trial), String(row.slot.rung),
             row.slot.choices.map { "\($0.key)=\($0.value)" }.joined(separator: " "),
             row.summary.map { String($0.epochs) } ?? "-", row.summary.map { String(format: "%.4f", $0.bestValidationScore) } ?? "-",
             row.job.status.rawValue, row.member.map(String.init) ?? "-"]
        }))
        if let plot { print("wrote \(plot)") }
    }

    /// One round's trials as search records: each trial's best score so far after each rung
    /// it trained in (what successive halving compared), kept trials with their place.
    func writePlot(_ rows: [Row], to path: String) throws {
        guard let newest = rows.map(\.round.index).max() else {
            throw CommandFailure("experiment \(experiment) has no search trials\(round.map { " in round \($0)" } ?? "") to plot")
        }
        let roundRows = rows.filter { $0.round.index == newest }.sorted { ($0.slot.trial, $0.slot.rung) < ($1.slot.trial, $1.slot.rung) }
        var records: [Int: HyperparameterSearch.TrialRecord] = [:]
        for row in roundRows {
            var record = records[row.slot.trial]
                ?? HyperparameterSearch.TrialRecord(index: row.slot.trial, choices: row.slot.choices, scores: [], epochs: 0, seconds: 0)
            if let summary = row.summary {
                record.scores.append(Swift.max(summary.bestValidationScore, record.scores.last ?? -.infinity))
                record.epochs += summary.epochs
                record.seconds += summary.seconds
            }
            if let member = row.member { record.member = member }
            records[row.slot.trial] = record
        }
        let method = try roundRows.compactMap(\.version).first.map(RegistryMapping.method(of:)) ?? .npe
        try SearchPlot.plot(records.keys.sorted().map { records[$0]! }, scoreLabel: SearchPlot.scoreLabel(for: method)).write(to: path)
    }
}
