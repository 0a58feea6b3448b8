import Foundation
import ILITensor

/// Writes a posterior as the directory `ili sample` reads; the format is specified in
/// schemas/posterior-directory.md, and `formatVersion` changes with any incompatible edit.
public enum PosteriorDirectory {
    public static let formatVersion = 1
    public static let posteriorFile = "posterior.json"
    public static let trainingFile = "training.json"
    public static let membersDirectory = "members"

    public static func memberFile(_ index: Int) -> String { "\(membersDirectory)/\(index).safetensors" }
}

extension Registry {
    /// Exports posterior `id` to `directory`, which must not exist or be empty. The files
    /// are written to a temporary sibling and moved into place last, so a reader never
    /// sees half a posterior. Returns the files written, relative to `directory`.
    @discardableResult
    public func exportPosterior(id: Int64, to directory: URL) throws -> [String] {
        let fm = FileManager.default
        if let existing = try? fm.contentsOfDirectory(atPath: directory.path), !existing.isEmpty {
            throw RegistryError(.io, "\(directory.path) is not empty: export into a new directory, or remove it first")
        }
        let (posteriorJSON, trainingJSON, weights) = try read("exporting posterior \(id)") { c in
            try exportContents(id: id, c)
        }
        let parent = directory.deletingLastPathComponent()
        let staging = parent.appendingPathComponent(".\(directory.lastPathComponent).partial-\(UUID().uuidString)")
        do {
            try fm.createDirectory(at: staging.appendingPathComponent(PosteriorDirectory.membersDirectory), withIntermediateDirectories: true)
            try posteriorJSON.write(to: staging.appendingPathComponent(PosteriorDirectory.posteriorFile))
            try trainingJSON.write(to: staging.appendingPathComponent(PosteriorDirectory.trainingFile))
            for (index, bytes) in weights.enumerated() {
                try Data(bytes).write(to: staging.appendingPathComponent(PosteriorDirectory.memberFile(index)))
            }
            // rename(2) replaces an empty directory atomically; a missing one is simply created.
            if rename(staging.path, directory.path) != 0 {
                throw RegistryError(.io, "could not move the export into \(directory.path): \(String(cString: strerror(errno)))")
            }
        } catch {
            try? fm.removeItem(at: staging)
            if error is RegistryError { throw error }
            throw RegistryError(.io, "exporting posterior \(id) to \(directory.path) failed: \(error.localizedDescription); check the path is writable")
        }
        return [PosteriorDirectory.posteriorFile, PosteriorDirectory.trainingFile] + weights.indices.map(PosteriorDirectory.memberFile)
    }

    private func exportContents(id: Int64, _ c: SQLConnection) throws -> (Data, Data, [[UInt8]]) {
        let posterior = try self.posterior(id: id, c)
        let experiment = try Self.experiment(try c.query("SELECT \(Self.experimentColumns(c.dialect)) FROM experiments WHERE id = $1",
                                                         [.integer(posterior.experimentId)])[0])
        let round = try self.round(id: posterior.round, c)
        var members: [[String: Any]] = []
        var trainingMembers: [[String: Any]] = []
        var weights: [[UInt8]] = []
        for member in posterior.members {
            let version = try modelVersion(id: member.modelVersion, c)
            weights.append(try modelWeights(id: version.id, c))
            members.append([
                "index": member.index,
                "modelVersion": version.id,
                "weight": member.weight,
                "estimator": JSONText.object(version.estimator),
                "weights": PosteriorDirectory.memberFile(member.index),
                "sha256": version.weightsSHA256,
            ])
            trainingMembers.append([
                "index": member.index,
                "modelVersion": version.id,
                "round": version.roundIndex,
                "ensembleMember": version.member,
                "summary": JSONText.object(version.trainingSummary),
                "createdAt": Self.iso8601(version.createdAt),
            ])
        }
        var verdict: Any = NSNull()
        if let by = posterior.calibratedBy {
            let result = try validationResult(id: by, c)
            verdict = ["validationResult": result.id, "metric": result.metric, "value": result.value ?? NSNull(),
                       "details": JSONText.object(result.details)] as [String: Any]
        }
        let posteriorObject: [String: Any] = [
            "format": "ili-posterior",
            "formatVersion": PosteriorDirectory.formatVersion,
            "posterior": posterior.id,
            "experiment": experiment.name,
            "round": round.index,
            "method": posterior.method,
            "prior": JSONText.object(experiment.prior),
            "thetaDimension": experiment.thetaDimension,
            "xShape": experiment.xShape,
            "calibrated": posterior.calibrated,
            "calibratedBy": verdict,
            "members": members,
        ]
        let rounds = try c.query("""
            SELECT r.round_index, r.strategy, r.status,
                (SELECT count(*) FROM simulations s WHERE s.round_id = r.id AND s.valid),
                (SELECT count(*) FROM simulations s WHERE s.round_id = r.id AND NOT s.valid)
            FROM rounds r WHERE r.experiment_id = $1 AND r.round_index <= $2 ORDER BY r.round_index
            """, [.integer(experiment.id), .int(round.index)]).map { row -> [String: Any] in
            ["round": try row.int(0), "strategy": try row.text(1), "status": try row.text(2),
             "validSimulations": try row.int(3), "invalidSimulations": try row.int(4)]
        }
        let trainingObject: [String: Any] = [
            "formatVersion": PosteriorDirectory.formatVersion,
            "experiment": experiment.name,
            "experimentConfig": JSONText.object(experiment.config),
            "rounds": rounds,
            "members": trainingMembers,
        ]
        let options: JSONSerialization.WritingOptions = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return (try JSONSerialization.data(withJSONObject: posteriorObject, options: options),
                try JSONSerialization.data(withJSONObject: trainingObject, options: options), weights)
    }

    static func iso8601(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }
}
