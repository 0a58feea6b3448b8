import RealModule

import Foundation

/// One layer of an embedding network, as written in a configuration file (read by
/// `EmbeddingConfiguration(yaml:)`, which spells types and keys in snake_case).
///
/// ```yaml
/// - {type: conv1d, channels: 8, kernel: 5, activation: relu}
/// - {type: max_pool, size: 2}
/// - {type: flatten}
/// - {type: dense, width: 16, activation: relu}
/// ```
///
/// or, for data that are a set of points (see `SetLayout`), a DeepSets layer first:
///
/// ```yaml
/// - {type: deep_sets, max_points: 64, point_features: 4, pool: sum, phi: [64, 64], rho: [64, 8]}
/// ```
public struct EmbeddingLayerConfiguration: Codable, Sendable, Equatable {
    /// The raw values are the stored (JSON) form; YAML files use `yamlName`.
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case dense, conv1d, maxPool, avgPool, flatten, deepSets

        /// The spelling in YAML configuration files: snake_case, as every configuration key.
        public var yamlName: String {
            switch self {
            case .dense: return "dense"
            case .conv1d: return "conv1d"
            case .maxPool: return "max_pool"
            case .avgPool: return "avg_pool"
            case .flatten: return "flatten"
            case .deepSets: return "deep_sets"
            }
        }
    }
    public var type: Kind
    /// Output units of a dense layer.
    public var width: Int?
    /// Output channels of a convolution.
    public var channels: Int?
    public var kernel: Int?
    public var stride: Int?
    public var padding: Int?
    /// Window of a pooling layer.
    public var size: Int?
    /// Applied after a dense or convolution layer; none when absent. A DeepSets layer
    /// applies it inside φ and ρ, ReLU when absent.
    public var activation: Activation?
    /// Slots of a padded set (DeepSets).
    public var maxPoints: Int?
    /// Features of one point, not counting its presence flag (DeepSets).
    public var pointFeatures: Int?
    /// How a set's per-point features are combined (DeepSets).
    public var pool: SetPooling?
    /// Widths of the per-point network φ (DeepSets).
    public var phi: [Int]?
    /// Widths of the network ρ after pooling; the last is the layer's output (DeepSets).
    public var rho: [Int]?

    public init(type: Kind, width: Int? = nil, channels: Int? = nil, kernel: Int? = nil, stride: Int? = nil,
                padding: Int? = nil, size: Int? = nil, activation: Activation? = nil, maxPoints: Int? = nil,
                pointFeatures: Int? = nil, pool: SetPooling? = nil, phi: [Int]? = nil, rho: [Int]? = nil) {
        self.type = type
        self.width = width
        self.channels = channels
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.size = size
        self.activation = activation
        self.maxPoints = maxPoints
        self.pointFeatures = pointFeatures
        self.pool = pool
        self.phi = phi
        self.rho = rho
    }

    public static func dense(_ width: Int, activation: Activation? = nil) -> Self {
        Self(type: .dense, width: width, activation: activation)
    }
    public static func conv1d(channels: Int, kernel: Int, stride: Int = 1, padding: Int = 0, activation: Activation? = nil) -> Self {
        Self(type: .conv1d, channels: channels, kernel: kernel, stride: stride, padding: padding, activation: activation)
    }
    public static func maxPool(_ size: Int) -> Self { Self(type: .maxPool, size: size) }
    public static func avgPool(_ size: Int) -> Self { Self(type: .avgPool, size: size) }
    public static var flatten: Self { Self(type: .flatten) }
    /// A DeepSets layer over `maxPoints` slots of `pointFeatures` features (and a presence flag each).
    public static func deepSets(maxPoints: Int, pointFeatures: Int, pool: SetPooling, phi: [Int], rho: [Int] = [],
                                activation: Activation? = nil) -> Self {
        Self(type: .deepSets, activation: activation, maxPoints: maxPoints, pointFeatures: pointFeatures, pool: pool,
             phi: phi, rho: rho)
    }

    /// The activation a DeepSets layer uses.
    public var resolvedSetActivation: Activation { activation ?? .relu }
}

/// A network that compresses the context (e.g. a long time series) into a few features
/// before it reaches a density estimator or classifier, trained jointly with it.
///
/// Rows hold `inputChannels × inputLength` values, channel-major; convolutions and
/// pooling keep that layout, dense layers see the whole row. A DeepSets layer, which must
/// come first, reads rows as padded sets instead (`SetLayout`).
///
/// ```swift
/// let config = try EmbeddingConfiguration(yaml: """
///     input_count: 128
///     layers:
///       - {type: conv1d, channels: 8, kernel: 5, activation: relu}
///       - {type: max_pool, size: 4}
///       - {type: flatten}
///       - {type: dense, width: 8}
///     """)
/// ```
public struct EmbeddingConfiguration: Codable, Sendable, Equatable {
    /// Values per input row (channels × length).
    public var inputCount: Int
    /// Channels of the input series; the length is inputCount / inputChannels.
    public var inputChannels: Int?
    public var layers: [EmbeddingLayerConfiguration]

    public init(inputCount: Int, inputChannels: Int = 1, layers: [EmbeddingLayerConfiguration]) {
        self.inputCount = inputCount
        self.inputChannels = inputChannels
        self.layers = layers
    }

    /// Dense layers of the given widths with `activation` between them (none after the last).
    public static func fullyConnected(inputs: Int, widths: [Int], activation: Activation = .relu) -> Self {
        Self(inputCount: inputs, layers: widths.enumerated().map { k, w in
            .dense(w, activation: k < widths.count - 1 ? activation : nil)
        })
    }

    /// The (channels, length) after each layer, starting with the input.
    public func shapes() throws -> [(channels: Int, length: Int)] {
        let channels = inputChannels ?? 1
        guard channels >= 1, inputCount >= 1, inputCount % channels == 0 else {
            throw ConfigurationError(message: "embedding input of \(inputCount) values does not split into \(channels) channels")
        }
        var shape = (channels: channels, length: inputCount / channels)
        var result = [shape]
        for (k, layer) in layers.enumerated() {
            func need(_ value: Int?, _ field: String) throws -> Int {
                guard let value, value >= 1 else {
                    throw ConfigurationError(message: "embedding layer \(k) (\(layer.type.rawValue)) needs a positive `\(field)`")
                }
                return value
            }
            switch layer.type {
            case .dense:
                shape = (1, try need(layer.width, "width"))
            case .conv1d:
                let kernel = try need(layer.kernel, "kernel")
                let stride = layer.stride ?? 1, padding = layer.padding ?? 0
                let length = (shape.length + 2 * padding - kernel) / stride + 1
                guard length >= 1, stride >= 1, padding >= 0 else {
                    throw ConfigurationError(message: "embedding layer \(k): kernel \(kernel) does not fit a series of \(shape.length) (padding \(padding), stride \(stride))")
                }
                shape = (try need(layer.channels, "channels"), length)
            case .maxPool, .avgPool:
                let size = try need(layer.size, "size")
                guard shape.length / size >= 1 else {
                    throw ConfigurationError(message: "embedding layer \(k): pooling window \(size) longer than the series (\(shape.length))")
                }
                shape = (shape.channels, shape.length / size)
            case .flatten:
                shape = (1, shape.channels * shape.length)
            case .deepSets:
                let layout = SetLayout(maxPoints: try need(layer.maxPoints, "maxPoints"),
                                       pointFeatures: try need(layer.pointFeatures, "pointFeatures"))
                guard layer.pool != nil else {
                    throw ConfigurationError(message: "embedding layer \(k) (deepSets) needs a `pool` (sum or mean)")
                }
                guard k == 0 else {
                    throw ConfigurationError(message: "embedding layer \(k): a deepSets layer reads the padded set itself, so it must be the first layer")
                }
                guard channels == 1, inputCount == layout.valueCount else {
                    throw ConfigurationError(message: "embedding layer \(k): \(layout.maxPoints) points × (\(layout.pointFeatures) features + 1 presence flag) = \(layout.valueCount) values, but the input has \(inputCount)\(channels == 1 ? "" : " in \(channels) channels (a set is one channel)")")
                }
                let phi = layer.phi ?? [], rho = layer.rho ?? []
                guard !phi.isEmpty, (phi + rho).allSatisfy({ $0 >= 1 }) else {
                    throw ConfigurationError(message: "embedding layer \(k) (deepSets) needs `phi`, a non-empty list of positive widths, and `rho` a list of positive widths")
                }
                shape = (1, rho.last ?? phi.last!)
            }
            result.append(shape)
        }
        return result
    }

    public func validate() throws { _ = try shapes() }

    /// The set layout of the input when the first layer is a DeepSets layer.
    public var setLayout: SetLayout? {
        guard let first = layers.first, first.type == .deepSets, let maxPoints = first.maxPoints,
              let pointFeatures = first.pointFeatures else { return nil }
        return SetLayout(maxPoints: maxPoints, pointFeatures: pointFeatures)
    }

    /// Values per output row.
    public var outputCount: Int {
        guard let last = try? shapes().last else { return inputCount }
        return last.channels * last.length
    }
}

/// The network an `EmbeddingConfiguration` describes.
public final class EmbeddingNetwork<Scalar: TensorScalar> {
    public enum Layer {
        case dense(Linear<Scalar>, Activation?)
        case conv1d(Conv1D<Scalar>, length: Int, Activation?)
        case pool(channels: Int, length: Int, size: Int, maximum: Bool)
        case deepSets(DeepSetsLayer<Scalar>)
    }

    public let configuration: EmbeddingConfiguration
    public let layers: [Layer]

    /// - Precondition: the configuration validates.
    public init(configuration: EmbeddingConfiguration, rng: inout RandomSource, name: String) {
        let shapes: [(channels: Int, length: Int)]
        do { shapes = try configuration.shapes() } catch { preconditionFailure("\(error)") }
        var layers: [Layer] = []
        for (k, layer) in configuration.layers.enumerated() {
            let input = shapes[k]
            switch layer.type {
            case .dense:
                layers.append(.dense(Linear(inputs: input.channels * input.length, outputs: layer.width!, rng: &rng,
                                            name: "\(name).\(k)"), layer.activation))
            case .conv1d:
                layers.append(.conv1d(Conv1D(inputChannels: input.channels, outputChannels: layer.channels!,
                                             kernelSize: layer.kernel!, stride: layer.stride ?? 1,
                                             padding: layer.padding ?? 0, rng: &rng, name: "\(name).\(k)"),
                                      length: input.length, layer.activation))
            case .maxPool, .avgPool:
                layers.append(.pool(channels: input.channels, length: input.length, size: layer.size!,
                                    maximum: layer.type == .maxPool))
            case .flatten:
                break   // rows are already flat
            case .deepSets:
                layers.append(.deepSets(DeepSetsLayer(layout: SetLayout(maxPoints: layer.maxPoints!, pointFeatures: layer.pointFeatures!),
                                                      pooling: layer.pool!, phi: layer.phi!, rho: layer.rho ?? [],
                                                      activation: layer.resolvedSetActivation, rng: &rng, name: "\(name).\(k)")))
            }
        }
        self.configuration = configuration
        self.layers = layers
    }

    public var parameters: [Parameter<Scalar>] {
        layers.flatMap { layer -> [Parameter<Scalar>] in
            switch layer {
            case .dense(let l, _): return l.parameters
            case .conv1d(let c, _, _): return c.parameters
            case .pool: return []
            case .deepSets(let sets): return sets.parameters
            }
        }
    }

    @inlinable
    public func callAsFunction(_ x: Variable<Scalar>) -> Variable<Scalar> {
        var h = x
        for layer in layers {
            switch layer {
            case .dense(let linear, let activation):
                h = linear(h)
                if let activation { h = activation.apply(h) }
            case .conv1d(let conv, let length, let activation):
                h = conv(h, length: length)
                if let activation { h = activation.apply(h) }
            case .pool(let channels, let length, let size, let maximum):
                h = pool1d(h, channels: channels, length: length, size: size, maximum: maximum)
            case .deepSets(let sets):
                h = sets(h)
            }
        }
        return h
    }
}
