import Foundation
import ILIRegistry

/// How registry records print: JSON objects for --json, aligned columns for people.
enum RegistryOutput {
    static func print(json object: Any) throws {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        Swift.print(String(decoding: data, as: UTF8.self))
    }

    /// Columns padded to their widest cell, two spaces apart.
    static func table(_ header: [String], _ rows: [[String]]) -> String {
        let all = [header] + rows
        let widths = header.indices.map { c in all.map { $0[c].count }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { c, cell in
                c == row.count - 1 ? cell : cell.padding(toLength: widths[c], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    /// Key/value lines for `show`.
    static func fields(_ pairs: [(String, String)]) -> String {
        let width = pairs.map(\.0.count).max() ?? 0
        return pairs.map { $0.0.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + $0.1 }.joined(separator: "\n")
    }

    static func time(_ date: Date?) -> String {
        guard let date else { return "-" }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }

    static func json(_ text: String) -> Any {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])) ?? text
    }

    static func object(_ e: Experiment) -> [String: Any] {
        ["id": RecordName(.experiment, e.id).text, "name": e.name, "config": json(e.config), "prior": json(e.prior),
         "thetaDimension": e.thetaDimension, "xShape": e.xShape, "createdAt": time(e.createdAt)]
    }

    static func object(_ r: Round, experiment: String) -> [String: Any] {
        ["id": RecordName(.round, r.id).text, "experiment": experiment, "index": r.index, "strategy": r.strategy,
         "proposal": json(r.proposal), "targetCount": r.targetCount, "status": r.status.rawValue,
         "failure": r.failure ?? NSNull(), "validSimulations": r.validSimulations, "invalidSimulations": r.invalidSimulations,
         "validTestSimulations": r.validTestSimulations, "invalidTestSimulations": r.invalidTestSimulations,
         "createdAt": time(r.createdAt), "updatedAt": time(r.updatedAt), "finishedAt": r.finishedAt.map(time) ?? NSNull()]
    }

    static func object(_ m: ModelVersion) -> [String: Any] {
        ["id": RecordName(.model, m.id).text, "round": m.roundIndex, "method": m.method, "estimator": json(m.estimator),
         "member": m.member, "weightsSHA256": m.weightsSHA256, "weightsBytes": m.weightsByteCount,
         "trainingSummary": json(m.trainingSummary), "createdAt": time(m.createdAt)]
    }

    static func object(_ p: RegisteredPosterior, roundIndex: Int) -> [String: Any] {
        ["id": RecordName(.posterior, p.id).text, "round": roundIndex, "method": p.method, "calibrated": p.calibrated,
         "calibratedBy": p.calibratedBy.map { RecordName(.validation, $0).text } ?? NSNull(), "createdAt": time(p.createdAt),
         "members": p.members.map { ["index": $0.index, "model": RecordName(.model, $0.modelVersion).text, "weight": $0.weight] }]
    }

    static func object(_ v: ValidationResult) -> [String: Any] {
        ["id": RecordName(.validation, v.id).text, "metric": v.metric, "value": v.value ?? NSNull(), "passed": v.passed,
         "details": json(v.details), "plotFiles": v.plotFiles, "createdAt": time(v.createdAt)]
    }

    static func object(_ j: TrainingJob) -> [String: Any] {
        ["id": RecordName(.job, j.id).text, "round": RecordName(.round, j.round).text, "member": j.member, "config": json(j.config),
         "status": j.status.rawValue, "claimedBy": j.claimedBy ?? NSNull(), "heartbeatAt": j.heartbeatAt.map(time) ?? NSNull(),
         "attempts": j.attempts, "model": j.modelVersion.map { RecordName(.model, $0).text } ?? NSNull(),
         "failure": j.failure ?? NSNull(), "createdAt": time(j.createdAt)]
    }

    static func posteriorText(_ p: RegisteredPosterior, roundIndex: Int, experiment: String, validations: [ValidationResult]) -> String {
        var out = fields([
            ("posterior", RecordName(.posterior, p.id).text), ("experiment", experiment), ("round", String(roundIndex)),
            ("method", p.method), ("calibrated", p.calibrated ? "yes (by validation-\(p.calibratedBy ?? 0))" : "no"),
            ("created", time(p.createdAt)),
        ])
        out += "\n\nmembers\n" + table(["INDEX", "MODEL", "WEIGHT"], p.members.map {
            [String($0.index), RecordName(.model, $0.modelVersion).text, String(format: "%.4f", $0.weight)]
        })
        if !validations.isEmpty {
            out += "\n\nvalidation\n" + table(["ID", "METRIC", "VALUE", "PASSED"], validations.map {
                [RecordName(.validation, $0.id).text, $0.metric, $0.value.map { String(format: "%.4g", $0) } ?? "-", $0.passed ? "yes" : "no"]
            })
        }
        return out
    }
}
