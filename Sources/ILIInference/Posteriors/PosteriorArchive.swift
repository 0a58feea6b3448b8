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
    public static func write(npe result: DensityEnsembleResult, prior: PriorSpecification,
                             experiment: String, experimentConfig: Any = [String: Any](), to directory: String) throws {
        try write(method: "NPE", members: try densityMembers(result), weights: result.ensemble.weights, summaries: result.summaries,
                  droppedRows: result.droppedRows, thetaDimension: result.ensemble.featureCount,
                  xDimension: result.ensemble.contextCount, extra: [:], prior: prior, experiment: experiment,
                  experimentConfig: experimentConfig, to: directory)
    }

    /// Writes an NLE ensemble (densities of x given θ) and the sampler `ili sample` uses by default.
    public static func write(nle result: DensityEnsembleResult, sampler: SamplerSettings, prior: PriorSpecification,
                             experiment: String, experimentConfig: Any = [String: Any](), to directory: String) throws {
        try write(method: "NLE", members: try densityMembers(result), weights: result.ensemble.weights, summaries: result.summaries,
                  droppedRows: result.droppedRows, thetaDimension: result.ensemble.contextCount,
                  xDimension: result.ensemble.featureCount, extra: ["sampler": try jsonObject(sampler)], prior: prior,
                  experiment: experiment, experimentConfig: experimentConfig, to: directory)
    }

    /// Writes an NRE ensemble of classifiers, the variant that trained them, and the sampler.
    public static func write(nre result: NeuralRatioEstimation.Result, sampler: SamplerSettings, prior: PriorSpecification,
                             experiment: String, experimentConfig: Any = [String: Any](), to directory: String) throws {
        let members = try zip(result.ensemble.members, result.configurations).map { classifier, configuration in
            (tensors: classifier.stateTensors(), estimator: try jsonObject(configuration))
        }
        try write(method: "NRE", members: members, weights: result.ensemble.weights, summaries: result.summaries,
                  droppedRows: result.droppedRows, thetaDimension: result.ensemble.parameterCount,
                  xDimension: result.ensemble.dataCount,
                  extra: ["sampler": try jsonObject(sampler), "ratio": try jsonObject(result.ratio)], prior: prior,
                  experiment: experiment, experimentConfig: experimentConfig, to: directory)
    }

    private static func densityMembers(_ result: DensityEnsembleResult) throws -> [(tensors: [String: Matrix<Float>], estimator: Any)] {
        try result.ensemble.members.map { ($0.stateTensors(), try jsonObject($0.configuration)) }
    }

    private static func write(method: String, members memberStates: [(tensors: [String: Matrix<Float>], estimator: Any)],
                              weights: [Double], summaries: [TrainingSummary], droppedRows: Int,
                              thetaDimension: Int, xDimension: Int, extra: [String: Any], prior: PriorSpecification,
                              experiment: String, experimentConfig: Any, to directory: String) throws {
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
        for (k, state) in memberStates.enumerated() {
            let bytes = SafeTensors(tensors: state.tensors, metadata: ["format": "ili"]).encoded()
            try writeFile(Data(bytes), url.appendingPathComponent(memberFile(k)))
            members.append([
                "index": k, "modelVersion": NSNull(), "weight": weights[k],
                "estimator": state.estimator, "weights": memberFile(k), "sha256": SHA256.hex(bytes),
            ])
            trainingMembers.append([
                "index": k, "modelVersion": NSNull(), "round": 0, "ensembleMember": k,
                "summary": try jsonObject(summaries[k]), "createdAt": now,
            ])
        }
        var posterior: [String: Any] = [
            "format": "ili-posterior", "formatVersion": formatVersion, "posterior": NSNull(),
            "experiment": experiment, "round": 0, "method": method, "prior": try jsonObject(prior),
            "thetaDimension": thetaDimension, "xShape": [xDimension],
            "calibrated": false, "calibratedBy": NSNull(), "members": members,
        ]
        posterior.merge(extra) { _, new in new }
        let training: [String: Any] = [
            "formatVersion": formatVersion, "experiment": experiment, "experimentConfig": experimentConfig,
            "rounds": [["round": 0, "strategy": "amortized", "status": "done",
                        "validSimulations": summaries.first.map { $0.trainingCount + $0.validationCount } ?? 0,
                        "invalidSimulations": droppedRows]],
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
        // Each member's weights file, checked against its SHA-256, with its estimator JSON.
        func memberFiles() throws -> [(tensors: [String: Matrix<Float>], estimator: Any, weight: Double, path: String)] {
            try memberObjects.enumerated().map { k, member in
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
                return (try SafeTensors<Float>(decoding: [UInt8](bytes), source: path).tensors, estimatorObject, weight, path)
            }
        }
        func densityEnsemble() throws -> DensityEnsemble {
            let files = try memberFiles()
            let estimators = try files.map { file -> any ConditionalDensityEstimator<Float> in
                let configuration = try decodeField(DensityEstimatorConfiguration.self, from: file.estimator, "a member's \"estimator\"")
                return try makeDensityEstimator(configuration: configuration, tensors: file.tensors, source: file.path)
            }
            return DensityEnsemble(members: estimators, weights: files.map(\.weight))
        }
        func decodeField<T: Decodable>(_ type: T.Type, from object: Any, _ what: String) throws -> T {
            do {
                return try decode(type, from: object)
            } catch {
                throw fail("\(what) is not valid: \(error)")
            }
        }
        // Directories exported from the registry carry no sampler: the defaults apply.
        let sampler = try manifest["sampler"].map { try decodeField(SamplerSettings.self, from: $0, "\"sampler\"") } ?? SamplerSettings()
        do {
            try sampler.validate()
        } catch let error as SamplerError {
            throw fail("\"sampler\": \(error.message)")
        }
        switch method {
        case "npe":
            return DirectPosterior(prior: prior, ensemble: try densityEnsemble())
        case "nle":
            let ensemble = try densityEnsemble()
            guard ensemble.contextCount == prior.dimension else {
                throw fail("the likelihood is conditioned on \(ensemble.contextCount) values but the prior has \(prior.dimension) parameters")
            }
            return MCMCPosterior(prior: prior, model: .likelihood(ensemble), sampler: sampler)
        case "nre":
            let files = try memberFiles()
            let classifiers = try files.map { file -> RatioClassifier<Float> in
                let configuration = try decodeField(ClassifierConfiguration.self, from: file.estimator, "a member's \"estimator\"")
                do {
                    return try RatioClassifier<Float>(configuration: configuration, tensors: file.tensors, source: file.path)
                } catch let error as ModelFileError {
                    throw PosteriorError(.badDirectory, error.message)
                } catch let error as ConfigurationError {
                    throw PosteriorError(.badDirectory, "\(file.path): a member's classifier configuration is not valid: \(error.message)")
                }
            }
            let ensemble = RatioEnsemble(members: classifiers, weights: files.map(\.weight))
            guard ensemble.parameterCount == prior.dimension else {
                throw fail("the classifier takes \(ensemble.parameterCount) parameters but the prior has \(prior.dimension)")
            }
            return MCMCPosterior(prior: prior, model: .ratio(ensemble), sampler: sampler)
        default:
            throw fail("method \"\(manifest["method"] ?? "missing")\" is not one this ili can load (NPE, NLE, NRE)")
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
