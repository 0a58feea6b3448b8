import Foundation
import ILINets

/// Reads and writes the posterior directory of `schemas/posterior-directory.md`:
/// `posterior.json`, `training.json` and `members/<i>.safetensors`.
///
/// ```swift
/// try PosteriorArchive.write(npe: result, prior: spec, experiment: "two-moons", to: "runs/two-moons")
/// let posterior = try loadPosterior(from: "runs/two-moons")
/// ```
public enum PosteriorArchive {
    public static let formatVersion = 1
    public static let posteriorFile = "posterior.json"
    public static let trainingFile = "training.json"

    public static func memberFile(_ index: Int) -> String { "members/\(index).safetensors" }

    /// Writes an NPE ensemble. The directory is created (or its posterior files replaced).
    public static func write(npe result: NeuralPosteriorEstimation.Result, prior: PriorSpecification,
                             experiment: String, experimentConfig: Any = [String: Any](), to directory: String) throws {
        let fm = FileManager.default
        let url = URL(fileURLWithPath: directory)
        do {
            try fm.createDirectory(at: url.appendingPathComponent("members"), withIntermediateDirectories: true)
        } catch {
            throw PosteriorError(.badDirectory, "cannot create \(directory): \(error.localizedDescription)")
        }
        var members: [[String: Any]] = []
        var trainingMembers: [[String: Any]] = []
        let now = ISO8601DateFormatter().string(from: Date())
        for (k, estimator) in result.ensemble.members.enumerated() {
            let bytes = SafeTensors(tensors: estimator.stateTensors(), metadata: ["format": "ili"]).encoded()
            try writeFile(Data(bytes), url.appendingPathComponent(memberFile(k)))
            members.append([
                "index": k, "modelVersion": NSNull(), "weight": result.ensemble.weights[k],
                "estimator": try jsonObject(estimator.configuration),
                "weights": memberFile(k), "sha256": SHA256.hex(bytes),
            ])
            trainingMembers.append([
                "index": k, "modelVersion": NSNull(), "round": 0, "ensembleMember": k,
                "summary": try jsonObject(result.summaries[k]), "createdAt": now,
            ])
        }
        let posterior: [String: Any] = [
            "format": "ili-posterior", "formatVersion": formatVersion, "posterior": NSNull(),
            "experiment": experiment, "round": 0, "method": "NPE", "prior": try jsonObject(prior),
            "thetaDimension": result.ensemble.featureCount, "xShape": [result.ensemble.contextCount],
            "calibrated": false, "calibratedBy": NSNull(), "members": members,
        ]
        let training: [String: Any] = [
            "formatVersion": formatVersion, "experiment": experiment, "experimentConfig": experimentConfig,
            "rounds": [["round": 0, "strategy": "amortized", "status": "done",
                        "validSimulations": result.summaries.first.map { $0.trainingCount + $0.validationCount } ?? 0,
                        "invalidSimulations": result.droppedRows]],
            "members": trainingMembers,
        ]
        let options: JSONSerialization.WritingOptions = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try writeFile(try JSONSerialization.data(withJSONObject: training, options: options), url.appendingPathComponent(trainingFile))
        // posterior.json last: a directory with it is complete.
        try writeFile(try JSONSerialization.data(withJSONObject: posterior, options: options), url.appendingPathComponent(posteriorFile))
    }

    /// Reads the posterior in `directory`, checking every member's SHA-256.
    public static func read(from directory: String) throws -> any Posterior {
        let url = URL(fileURLWithPath: directory)
        let manifestPath = url.appendingPathComponent(posteriorFile).path
        guard let data = FileManager.default.contents(atPath: manifestPath) else {
            throw PosteriorError(.badDirectory, "\(directory) is not a posterior directory: no \(posteriorFile) (train one with `ili train`, or export one with `ili registry export`)")
        }
        func fail(_ message: String) -> PosteriorError { PosteriorError(.badDirectory, "\(manifestPath): \(message)") }
        guard let manifest = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw fail("not a JSON object")
        }
        guard manifest["format"] as? String == "ili-posterior" else { throw fail("\"format\" is not \"ili-posterior\"") }
        guard let version = manifest["formatVersion"] as? Int, version == formatVersion else {
            throw fail("formatVersion \(manifest["formatVersion"] ?? "missing") is not supported (this ili reads version \(formatVersion)); upgrade ili")
        }
        guard let priorObject = manifest["prior"] else { throw fail("no \"prior\"") }
        let priorSpec: PriorSpecification
        do {
            priorSpec = try decode(PriorSpecification.self, from: priorObject)
        } catch {
            throw fail("\"prior\" is not a prior specification: \(error)")
        }
        let prior = try priorSpec.makePrior(source: manifestPath)
        let method = (manifest["method"] as? String ?? "").lowercased()
        guard let memberObjects = manifest["members"] as? [[String: Any]], !memberObjects.isEmpty else {
            throw fail("no \"members\"")
        }
        switch method {
        case "npe":
            var estimators: [any ConditionalDensityEstimator<Float>] = []
            var weights: [Double] = []
            for (k, member) in memberObjects.enumerated() {
                guard let file = member["weights"] as? String, let weight = member["weight"] as? Double,
                      let estimatorObject = member["estimator"] else {
                    throw fail("member \(k) lacks weights, weight or estimator")
                }
                let path = url.appendingPathComponent(file).path
                guard let bytes = FileManager.default.contents(atPath: path) else {
                    throw PosteriorError(.badDirectory, "\(path): missing weights file of member \(k)")
                }
                if let expected = member["sha256"] as? String, SHA256.hex(bytes) != expected {
                    throw PosteriorError(.badDirectory, "\(path): SHA-256 does not match posterior.json; the file is corrupt or was replaced")
                }
                let configuration = try decode(DensityEstimatorConfiguration.self, from: estimatorObject)
                let tensors = try SafeTensors<Float>(decoding: [UInt8](bytes), source: path)
                estimators.append(try makeDensityEstimator(configuration: configuration, tensors: tensors.tensors, source: path))
                weights.append(weight)
            }
            return DirectPosterior(prior: prior, ensemble: DensityEnsemble(members: estimators, weights: weights))
        default:
            throw fail("method \"\(manifest["method"] ?? "missing")\" is not one this ili can load")
        }
    }

    static func jsonObject<T: Encodable>(_ value: T) throws -> Any {
        try JSONSerialization.jsonObject(with: JSONEncoder().encode(value), options: [.fragmentsAllowed])
    }

    static func decode<T: Decodable>(_ type: T.Type, from object: Any) throws -> T {
        try JSONDecoder().decode(type, from: JSONSerialization.data(withJSONObject: object, options: [.fragmentsAllowed]))
    }

    static func writeFile(_ data: Data, _ url: URL) throws {
        do {
            try data.write(to: url, options: .atomic)
        } catch {
            throw PosteriorError(.badDirectory, "cannot write \(url.path): \(error.localizedDescription)")
        }
    }
}

/// Loads the posterior saved in `directory` (by `ili train` or `ili registry export`).
public func loadPosterior(from directory: String) throws -> any Posterior {
    try PosteriorArchive.read(from: directory)
}
