import Foundation

/// An `ili train` configuration file: prior, data, method and estimators, training settings.
///
/// Paths are relative to the configuration file. Every key is documented in
/// `schemas/config.md`; unknown keys, wrong types and missing files are errors naming them.
public struct TrainConfiguration {
    public var prior: PriorSpecification
    public var thetaPath: String
    public var xPath: String
    public var inference: InferenceSpecification
    public var training: TrainingSettings
    public var seed: UInt64
    /// The posterior directory to write.
    public var outputDirectory: String
    /// The file it was read from, for messages.
    public var source: String
    /// The configuration as written, recorded with what it produced.
    public var text: String

    public var method: InferenceMethod { inference.method }

    static let topKeys: Set<String> = ["prior", "data", "inference", "train", "seed", "out"]

    public static func load(path: String) throws -> TrainConfiguration {
        let root = try ConfigNode.load(path: path)
        let base = URL(fileURLWithPath: path).deletingLastPathComponent()
        return try parse(root, baseDirectory: base)
    }

    public static func parse(_ root: ConfigNode, baseDirectory: URL) throws -> TrainConfiguration {
        let top = try root.mapping(allowing: topKeys)
        let prior = try PriorSpecification.parse(top.required("prior"))
        let parameterCount = try prior.makePrior(source: root.source).dimension

        let data = try top.required("data").mapping(allowing: ["theta", "x"])
        let thetaPath = try data.required("theta").path(relativeTo: baseDirectory, mustExist: true)
        let xPath = try data.required("x").path(relativeTo: baseDirectory, mustExist: true)

        let inference = try InferenceSpecification.parse(try top.required("inference"), parameterCount: parameterCount)
        let training = try TrainingSettings.parse(top.optional("train"))
        let out = try top.optional("out").map { try $0.path(relativeTo: baseDirectory, mustExist: false) }
            ?? baseDirectory.appendingPathComponent("posterior").path
        return TrainConfiguration(prior: prior, thetaPath: thetaPath, xPath: xPath, inference: inference, training: training,
                                  seed: try top.seed(), outputDirectory: out, source: root.source, text: root.text)
    }
}

extension ConfigNode {
    /// A path given at this key, resolved against `base` unless absolute; with `mustExist`,
    /// an error naming the key when there is no such file.
    public func path(relativeTo base: URL, mustExist: Bool) throws -> String {
        let raw = try string()
        let path = raw.hasPrefix("/") ? raw : base.appendingPathComponent(raw).standardizedFileURL.path
        if mustExist && !FileManager.default.fileExists(atPath: path) {
            throw error(.missingFile, "no file '\(raw)' (looked for \(path))")
        }
        return path
    }
}
