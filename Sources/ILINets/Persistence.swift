import Foundation

/// The one saved form of a trained network, used for a model directory (`save(to:)`), a
/// posterior directory's member files and the registry's model versions alike: a
/// safetensors file with every tensor (parameters and z-scoring) and the network's
/// configuration JSON in its metadata, so that the file alone rebuilds the network.
/// A model directory also keeps the configuration as `config.json` beside it, for people.
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

    /// A safetensors file of `tensors` carrying `configuration` in its metadata.
    public static func encode<Scalar: TensorScalar, Configuration: Encodable>(
        tensors: [String: Matrix<Scalar>], configuration: Configuration
    ) throws -> [UInt8] {
        SafeTensors<Scalar>(tensors: tensors, metadata: [
            "format": "ili", configurationKey: String(decoding: try configurationJSON(configuration), as: UTF8.self),
        ]).encoded()
    }

    /// The tensors and the configuration of a file `encode` wrote; `source` names it in errors.
    public static func decode<Scalar: TensorScalar, Configuration: Decodable>(
        _ bytes: [UInt8], as: Configuration.Type, source: String
    ) throws -> (tensors: [String: Matrix<Scalar>], configuration: Configuration) {
        let file = try SafeTensors<Scalar>(decoding: bytes, source: source)
        guard let json = file.metadata[configurationKey] else {
            throw ModelFileError(message: "\(source): the weights carry no network configuration (metadata \(configurationKey))")
        }
        return (file.tensors, try decodeConfiguration(Data(json.utf8), as: Configuration.self, source: source))
    }

    /// Pretty, key-sorted JSON.
    public static func configurationJSON<Configuration: Encodable>(_ configuration: Configuration) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(configuration)
    }

    static func decodeConfiguration<Configuration: Decodable>(_ json: Data, as: Configuration.Type, source: String) throws -> Configuration {
        do {
            return try JSONDecoder().decode(Configuration.self, from: json)
        } catch {
            throw ModelFileError(message: "\(source): not a valid \(Configuration.self) (\(error))")
        }
    }

    /// Writes `model.safetensors` and `config.json` into `directory` (created if needed).
    public static func save<Scalar: TensorScalar, Configuration: Encodable>(
        tensors: [String: Matrix<Scalar>], configuration: Configuration, to directory: String
    ) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Data(try encode(tensors: tensors, configuration: configuration)).write(to: URL(fileURLWithPath: directory + "/" + weights))
        try configurationJSON(configuration).write(to: URL(fileURLWithPath: directory + "/" + ModelFiles.configuration))
    }

    /// Reads what `save` wrote; the configuration comes from `config.json` when present
    /// (it may have been edited by hand), otherwise from the weights' metadata.
    public static func load<Scalar: TensorScalar, Configuration: Decodable>(
        from directory: String, as: Configuration.Type
    ) throws -> (tensors: [String: Matrix<Scalar>], configuration: Configuration, source: String) {
        let weightsPath = directory + "/" + weights
        let file = try SafeTensors<Scalar>.read(from: weightsPath)
        let configPath = directory + "/" + ModelFiles.configuration
        if let json = FileManager.default.contents(atPath: configPath) {
            return (file.tensors, try decodeConfiguration(json, as: Configuration.self, source: configPath), weightsPath)
        }
        guard let text = file.metadata[configurationKey] else {
            throw ModelFileError(message: "\(directory): neither \(ModelFiles.configuration) nor a configuration in the weights' metadata")
        }
        return (file.tensors, try decodeConfiguration(Data(text.utf8), as: Configuration.self, source: weightsPath), weightsPath)
    }
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
        for p in parameters { p.value = try tensors.take(p.name, rows: p.value.rows, cols: p.value.cols, source: source) }
        featureStandardization = Standardization(
            mean: try tensors.take("standardization.features.mean", rows: 1, cols: featureCount, source: source),
            standardDeviation: try tensors.take("standardization.features.std", rows: 1, cols: featureCount, source: source))
        contextStandardization = Standardization(
            mean: try tensors.take("standardization.context.mean", rows: 1, cols: contextCount, source: source),
            standardDeviation: try tensors.take("standardization.context.std", rows: 1, cols: contextCount, source: source))
    }

    /// The saved form: a safetensors file with the configuration in its metadata.
    public func encoded() throws -> [UInt8] { try ModelFiles.encode(tensors: stateTensors(), configuration: configuration) }

    /// Writes `model.safetensors` and `config.json` into `directory` (created if needed).
    public func save(to directory: String) throws {
        try ModelFiles.save(tensors: stateTensors(), configuration: configuration, to: directory)
    }
}

extension Dictionary where Key == String {
    /// The tensor `name`, which must be `rows × cols`; errors name `source` and say what is wrong.
    func take<Scalar: TensorScalar>(_ name: String, rows: Int, cols: Int, source: String) throws -> Matrix<Scalar> where Value == Matrix<Scalar> {
        guard let m = self[name] else {
            throw ModelFileError(message: "\(source): no tensor '\(name)'; was the file saved from a model of this configuration?")
        }
        guard m.rows == rows && m.cols == cols else {
            throw ModelFileError(message: "\(source): tensor '\(name)' is \(m.shapeDescription) but the configuration needs \(rows)x\(cols)")
        }
        return m
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

/// Loads what `save(to:)` wrote.
public func loadDensityEstimator<Scalar: TensorScalar>(from directory: String, as: Scalar.Type = Scalar.self) throws
    -> any ConditionalDensityEstimator<Scalar> {
    let saved: (tensors: [String: Matrix<Scalar>], configuration: DensityEstimatorConfiguration, source: String) =
        try ModelFiles.load(from: directory, as: DensityEstimatorConfiguration.self)
    return try makeDensityEstimator(configuration: saved.configuration, tensors: saved.tensors, source: saved.source)
}
