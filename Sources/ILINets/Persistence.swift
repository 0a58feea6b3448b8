import Foundation

/// Saving and loading a density estimator: the weights and z-scoring in one safetensors
/// file, the configuration as a small JSON file beside it (also copied into the
/// safetensors metadata, so the weights file alone is self-describing).
///
/// ```swift
/// try flow.save(to: "runs/npe-1")            // runs/npe-1/model.safetensors, runs/npe-1/config.json
/// let back = try loadDensityEstimator(from: "runs/npe-1", as: Float.self)
/// ```
public enum ModelFiles {
    public static let weights = "model.safetensors"
    public static let configuration = "config.json"
    /// The metadata key under which the configuration JSON is copied into the weights.
    public static let configurationKey = "ili.configuration"
}

/// A saved model that does not fit the configuration it came with.
public struct ModelFileError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}

extension ConditionalDensityEstimator {
    /// Every saved tensor: parameters by name, then the z-scoring layers.
    public func stateTensors() -> [String: Matrix<Scalar>] {
        var tensors: [String: Matrix<Scalar>] = [:]
        for p in parameters {
            precondition(tensors[p.name] == nil, "two parameters are named '\(p.name)'")
            tensors[p.name] = p.value
        }
        tensors["standardization.features.mean"] = featureStandardization.mean
        tensors["standardization.features.std"] = featureStandardization.standardDeviation
        tensors["standardization.context.mean"] = contextStandardization.mean
        tensors["standardization.context.std"] = contextStandardization.standardDeviation
        return tensors
    }

    /// Overwrites the parameters and z-scoring with `tensors` (as `stateTensors()` names them).
    public func loadState(_ tensors: [String: Matrix<Scalar>], source: String) throws {
        func take(_ name: String, rows: Int, cols: Int) throws -> Matrix<Scalar> {
            guard let m = tensors[name] else {
                throw ModelFileError(message: "\(source): no tensor '\(name)'; was the file saved from a model of this configuration?")
            }
            guard m.rows == rows && m.cols == cols else {
                throw ModelFileError(message: "\(source): tensor '\(name)' is \(m.shapeDescription) but the configuration needs \(rows)x\(cols)")
            }
            return m
        }
        for p in parameters { p.value = try take(p.name, rows: p.value.rows, cols: p.value.cols) }
        featureStandardization = Standardization(
            mean: try take("standardization.features.mean", rows: 1, cols: featureCount),
            standardDeviation: try take("standardization.features.std", rows: 1, cols: featureCount))
        contextStandardization = Standardization(
            mean: try take("standardization.context.mean", rows: 1, cols: contextCount),
            standardDeviation: try take("standardization.context.std", rows: 1, cols: contextCount))
    }

    /// The configuration as pretty, key-sorted JSON.
    public func configurationJSON() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(configuration)
    }

    /// Writes `model.safetensors` and `config.json` into `directory` (created if needed).
    public func save(to directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let json = try configurationJSON()
        var file = SafeTensors<Scalar>(tensors: stateTensors())
        file.metadata[ModelFiles.configurationKey] = String(decoding: json, as: UTF8.self)
        file.metadata["format"] = "ili"
        try file.write(to: directory + "/" + ModelFiles.weights)
        try json.write(to: URL(fileURLWithPath: directory + "/" + ModelFiles.configuration))
    }
}

/// Rebuilds a density estimator from a configuration and a safetensors file's tensors.
public func makeDensityEstimator<Scalar: TensorScalar>(
    configuration: DensityEstimatorConfiguration, tensors: [String: Matrix<Scalar>], source: String = "model"
) throws -> any ConditionalDensityEstimator<Scalar> {
    // The seed only fills weights that are overwritten next; the permutations come from the configuration.
    var rng = RandomSource(seed: 0)
    let model: any ConditionalDensityEstimator<Scalar> = try makeDensityEstimator(configuration, rng: &rng)
    try model.loadState(tensors, source: source)
    return model
}

/// Loads what `save(to:)` wrote. The configuration comes from `config.json`, or from the
/// weights' metadata when the JSON file is missing.
public func loadDensityEstimator<Scalar: TensorScalar>(from directory: String, as: Scalar.Type = Scalar.self) throws
    -> any ConditionalDensityEstimator<Scalar> {
    let weightsPath = directory + "/" + ModelFiles.weights
    let file = try SafeTensors<Scalar>.read(from: weightsPath)
    let configPath = directory + "/" + ModelFiles.configuration
    let json: Data
    if let data = FileManager.default.contents(atPath: configPath) {
        json = data
    } else if let text = file.metadata[ModelFiles.configurationKey] {
        json = Data(text.utf8)
    } else {
        throw ModelFileError(message: "\(directory): neither \(ModelFiles.configuration) nor a configuration in the weights' metadata")
    }
    let configuration: DensityEstimatorConfiguration
    do {
        configuration = try JSONDecoder().decode(DensityEstimatorConfiguration.self, from: json)
    } catch {
        throw ModelFileError(message: "\(configPath): not a density estimator configuration (\(error))")
    }
    return try makeDensityEstimator(configuration: configuration, tensors: file.tensors, source: weightsPath)
}
