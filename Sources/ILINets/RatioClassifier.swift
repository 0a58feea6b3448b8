import Foundation
import RealModule
import Yams

/// What a ratio classifier is made of. Defaults are sbi's.
public struct ClassifierConfiguration: Codable, Sendable, Equatable {
    public enum Architecture: String, Codable, Sendable {
        /// A residual network (blocks of two layers with a skip connection).
        case residual
        /// A plain multilayer perceptron.
        case mlp
    }
    public var architecture: Architecture = .residual
    /// Dimension of θ.
    public var parameterCount: Int
    /// Dimension of x (before any embedding).
    public var dataCount: Int
    public var hiddenFeatures: Int = 50
    /// Residual blocks, or hidden layers of the perceptron.
    public var blockCount: Int = 2
    public var activation: Activation = .relu
    public var zScoreParameters: Bool = true
    public var zScoreData: Bool = true
    public var structuredData: Bool = false
    /// A network that compresses x first, trained jointly.
    public var embedding: EmbeddingConfiguration?

    public init(architecture: Architecture = .residual, parameterCount: Int, dataCount: Int) {
        self.architecture = architecture
        self.parameterCount = parameterCount
        self.dataCount = dataCount
    }

    private enum CodingKeys: String, CodingKey {
        case architecture, parameterCount, dataCount, hiddenFeatures, blockCount, activation, zScoreParameters,
             zScoreData, structuredData, embedding
    }

    /// Reads a configuration in which every field but `parameterCount` and `dataCount` may
    /// be left out, taking its default.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(architecture: try c.decodeIfPresent(Architecture.self, forKey: .architecture) ?? .residual,
                  parameterCount: try c.decode(Int.self, forKey: .parameterCount),
                  dataCount: try c.decode(Int.self, forKey: .dataCount))
        hiddenFeatures = try c.decodeIfPresent(Int.self, forKey: .hiddenFeatures) ?? hiddenFeatures
        blockCount = try c.decodeIfPresent(Int.self, forKey: .blockCount) ?? blockCount
        activation = try c.decodeIfPresent(Activation.self, forKey: .activation) ?? activation
        zScoreParameters = try c.decodeIfPresent(Bool.self, forKey: .zScoreParameters) ?? zScoreParameters
        zScoreData = try c.decodeIfPresent(Bool.self, forKey: .zScoreData) ?? zScoreData
        structuredData = try c.decodeIfPresent(Bool.self, forKey: .structuredData) ?? structuredData
        embedding = try c.decodeIfPresent(EmbeddingConfiguration.self, forKey: .embedding)
    }

    /// Parses and validates a YAML (or JSON) document with the fields of this type.
    public init(yaml: String) throws {
        do {
            self = try YAMLDecoder().decode(ClassifierConfiguration.self, from: yaml)
        } catch {
            throw ConfigurationError(message: "not a classifier configuration (needs parameterCount and dataCount): \(error)")
        }
        try validate()
    }

    public func validate() throws {
        guard parameterCount >= 1, dataCount >= 1 else {
            throw ConfigurationError(message: "a classifier needs θ and x of at least one dimension each, got \(parameterCount) and \(dataCount)")
        }
        guard hiddenFeatures >= 1, blockCount >= 1 else {
            throw ConfigurationError(message: "hiddenFeatures and blockCount must be positive")
        }
        if let embedding {
            guard embedding.inputCount == dataCount else {
                throw ConfigurationError(message: "the embedding takes \(embedding.inputCount) inputs but dataCount is \(dataCount); make them equal")
            }
            try embedding.validate()
            if structuredData && embedding.setLayout != nil {
                throw ConfigurationError(message: "structured_x does not apply to a deep_sets embedding, which z-scores each point feature over the real points; leave it out")
            }
        }
    }
}

/// A classifier of (θ, x) pairs whose logit estimates log p(x | θ) / p(x) once trained to
/// tell joint pairs from shuffled ones (neural ratio estimation).
///
/// θ and x are z-scored by fixed layers fitted to the training data; x may pass through
/// an embedding network; the concatenation goes through a residual network or MLP to one logit.
///
/// ```swift
/// let classifier = RatioClassifier<Float>(configuration: .init(parameterCount: 2, dataCount: 5), rng: &rng)
/// classifier.fitStandardization(parameters: thetas, data: xs)
/// let logits = classifier.logit(tape.constant(thetas), tape.constant(xs))     // n × 1
/// ```
public final class RatioClassifier<Scalar: TensorScalar> {
    public let configuration: ClassifierConfiguration
    public var parameterStandardization: Standardization<Scalar>
    public var dataStandardization: Standardization<Scalar>
    public let embedding: EmbeddingNetwork<Scalar>?
    public let residual: ResidualNetwork<Scalar>?
    public let perceptron: MultilayerPerceptron<Scalar>?

    public init(configuration: ClassifierConfiguration, rng: inout RandomSource) {
        self.configuration = configuration
        parameterStandardization = .identity(configuration.parameterCount)
        dataStandardization = .identity(configuration.dataCount)
        embedding = configuration.embedding.map { EmbeddingNetwork(configuration: $0, rng: &rng, name: "embedding") }
        let inputs = configuration.parameterCount + (configuration.embedding?.outputCount ?? configuration.dataCount)
        let h = configuration.hiddenFeatures
        switch configuration.architecture {
        case .residual:
            residual = ResidualNetwork(inputs: inputs, context: 0, hidden: h, outputs: 1, blocks: configuration.blockCount,
                                       activation: configuration.activation, rng: &rng, name: "classifier")
            perceptron = nil
        case .mlp:
            residual = nil
            perceptron = MultilayerPerceptron(widths: [inputs] + Array(repeating: h, count: configuration.blockCount) + [1],
                                              activation: configuration.activation, rng: &rng, name: "classifier")
        }
    }

    public var parameters: [Parameter<Scalar>] {
        (embedding?.parameters ?? []) + (residual?.parameters ?? []) + (perceptron?.parameters ?? [])
    }

    /// Sets the z-scoring layers from training data (as the configuration asks).
    public func fitStandardization(parameters theta: Matrix<Scalar>, data x: Matrix<Scalar>) {
        if configuration.zScoreParameters { parameterStandardization = .fitted(to: theta) }
        if configuration.zScoreData {
            dataStandardization = .fitted(to: x, structured: configuration.structuredData, embedding: configuration.embedding)
        }
    }

    /// The logit of each (θ, x) row pair (m×1).
    @inlinable
    @_specialize(where Scalar == Float)
    public func logit(_ theta: Variable<Scalar>, _ x: Variable<Scalar>) -> Variable<Scalar> {
        precondition(theta.cols == configuration.parameterCount && x.cols == configuration.dataCount && theta.rows == x.rows,
                     "θ \(theta.shapeDescription) and x \(x.shapeDescription) for a classifier of \(configuration.parameterCount) parameters and \(configuration.dataCount) data values")
        var features = dataStandardization.apply(x)
        if let embedding { features = embedding(features) }
        let input = theta.tape.concatColumns([parameterStandardization.apply(theta), features])
        if let residual { return residual(input, context: nil) }
        return perceptron!(input)
    }

    /// The logits as plain numbers, after checking shapes.
    public func logits(parameters theta: Matrix<Scalar>, data x: Matrix<Scalar>) throws -> [Scalar] {
        guard theta.cols == configuration.parameterCount, x.cols == configuration.dataCount, theta.rows == x.rows else {
            throw ShapeError(message: "θ is \(theta.shapeDescription) and x \(x.shapeDescription); the classifier needs n×\(configuration.parameterCount) and n×\(configuration.dataCount) with the same n")
        }
        let tape = Tape<Scalar>(recordsGradients: false)
        return logit(tape.constant(theta), tape.constant(x)).value.storage
    }

    /// Every tensor that defines the trained classifier: parameters by name and the
    /// z-scoring layers, as `save(to:)` writes them.
    public func stateTensors() -> [String: Matrix<Scalar>] {
        var tensors: [String: Matrix<Scalar>] = [:]
        for p in parameters { tensors[p.name] = p.value }
        tensors["standardization.parameters.mean"] = parameterStandardization.mean
        tensors["standardization.parameters.std"] = parameterStandardization.standardDeviation
        tensors["standardization.data.mean"] = dataStandardization.mean
        tensors["standardization.data.std"] = dataStandardization.standardDeviation
        return tensors
    }

    /// A classifier of `configuration` with the weights in `tensors` (from `stateTensors()`);
    /// `source` names the file in errors about missing or misshapen tensors.
    public convenience init(configuration: ClassifierConfiguration, tensors: [String: Matrix<Scalar>], source: String) throws {
        do {
            try configuration.validate()
        } catch let error as ConfigurationError {
            throw ModelFileError(message: "\(source): the classifier configuration is not valid: \(error.message)")
        }
        var rng = RandomSource(seed: 0)
        self.init(configuration: configuration, rng: &rng)
        for p in parameters { p.value = try tensors.take(p.name, rows: p.value.rows, cols: p.value.cols, source: source) }
        let (t, x) = (configuration.parameterCount, configuration.dataCount)
        parameterStandardization = Standardization(
            mean: try tensors.take("standardization.parameters.mean", rows: 1, cols: t, source: source),
            standardDeviation: try tensors.take("standardization.parameters.std", rows: 1, cols: t, source: source))
        dataStandardization = Standardization(
            mean: try tensors.take("standardization.data.mean", rows: 1, cols: x, source: source),
            standardDeviation: try tensors.take("standardization.data.std", rows: 1, cols: x, source: source))
    }

    /// The saved form: a safetensors file with the configuration in its metadata.
    public func encoded() throws -> [UInt8] { try ModelFiles.encode(tensors: stateTensors(), configuration: configuration) }

    /// Writes `model.safetensors` and `config.json` into `directory`.
    public func save(to directory: String) throws {
        try ModelFiles.save(tensors: stateTensors(), configuration: configuration, to: directory)
    }

    /// Loads what `save(to:)` wrote.
    public static func load(from directory: String) throws -> RatioClassifier {
        let saved: (tensors: [String: Matrix<Scalar>], configuration: ClassifierConfiguration, source: String) =
            try ModelFiles.load(from: directory, as: ClassifierConfiguration.self)
        return try RatioClassifier(configuration: saved.configuration, tensors: saved.tensors, source: saved.source)
    }
}
