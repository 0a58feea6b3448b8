import ILITensor

/// The description of a prior as a user writes it in YAML and as a posterior saves it in JSON.
///
/// ```yaml
/// prior:
///   uniform: {low: [-1, -1], high: [1, 1]}
/// # or normal: {mean: [...], std: [...]} | lognormal: {mean, std} | mvnormal: {mean, cov}
/// # or independent: [{uniform: {low: 0, high: 1}}, {lognormal: {mean: 0, std: 0.5}}]
/// ```
public indirect enum PriorSpecification: Sendable, Equatable, Codable {
    case uniform(low: [Double], high: [Double])
    case normal(mean: [Double], std: [Double])
    /// log θ ~ N(mean, std²) per parameter.
    case logNormal(mean: [Double], std: [Double])
    case multivariateNormal(mean: [Double], covariance: [[Double]])
    /// A product of one-dimensional priors, each one of the specifications above with one entry.
    case independent([PriorSpecification])

    static let kinds = ["uniform", "normal", "lognormal", "mvnormal", "independent"]

    /// Reads `{uniform: {low, high}}` and the other forms; errors name the key path.
    public static func parse(_ node: ConfigNode) throws -> PriorSpecification {
        let (kind, body) = try node.mapping().single(choices: kinds)
        switch kind {
        case "uniform":
            let m = try body.mapping(allowing: ["low", "high"])
            return .uniform(low: try m.required("low").doubles(scalarAllowed: true),
                            high: try m.required("high").doubles(scalarAllowed: true))
        case "normal", "lognormal":
            let m = try body.mapping(allowing: ["mean", "std"])
            let mean = try m.required("mean").doubles(scalarAllowed: true)
            let std = try m.required("std").doubles(scalarAllowed: true)
            return kind == "normal" ? .normal(mean: mean, std: std) : .logNormal(mean: mean, std: std)
        case "mvnormal":
            let m = try body.mapping(allowing: ["mean", "cov"])
            return .multivariateNormal(mean: try m.required("mean").doubles(), covariance: try m.required("cov").doubleRows())
        default:
            let parts = try body.list()
            guard !parts.isEmpty else { throw body.error(.invalidValue, "an independent prior needs at least one component") }
            return .independent(try parts.map { try parse($0) })
        }
    }

    /// Builds the prior after checking the numbers; `source`/`keyPath` locate errors.
    public func makePrior(source: String = "prior", keyPath: String = "prior") throws -> any Prior {
        func fail(_ path: String, _ message: String) -> ConfigError {
            ConfigError(.invalidValue, source: source, keyPath: path, message)
        }
        func sameLength(_ a: [Double], _ b: [Double], _ an: String, _ bn: String, _ path: String) throws {
            guard !a.isEmpty else { throw fail("\(path).\(an)", "needs at least one value") }
            guard a.count == b.count else {
                throw fail(path, "\(an) has \(a.count) values but \(bn) has \(b.count); give one per parameter")
            }
        }
        func finite(_ xs: [Double], _ path: String) throws {
            if let i = xs.firstIndex(where: { !$0.isFinite }) { throw fail("\(path)[\(i)]", "\(xs[i]) is not a finite number") }
        }
        switch self {
        case .uniform(let low, let high):
            let path = "\(keyPath).uniform"
            try sameLength(low, high, "low", "high", path)
            try finite(low, "\(path).low"); try finite(high, "\(path).high")
            for i in low.indices where !(low[i] < high[i]) {
                throw fail(path, "low[\(i)] = \(low[i]) is not below high[\(i)] = \(high[i])")
            }
            return IndependentPrior(components: zip(low, high).map { .uniform(low: $0, high: $1) }, specification: self)
        case .normal(let mean, let std), .logNormal(let mean, let std):
            let isNormal = if case .normal = self { true } else { false }
            let path = "\(keyPath).\(isNormal ? "normal" : "lognormal")"
            try sameLength(mean, std, "mean", "std", path)
            try finite(mean, "\(path).mean"); try finite(std, "\(path).std")
            if let i = std.firstIndex(where: { $0 <= 0 }) {
                throw fail("\(path).std[\(i)]", "std must be positive, got \(std[i])")
            }
            return IndependentPrior(components: zip(mean, std).map {
                isNormal ? .normal(mean: $0, std: $1) : .logNormal(mean: $0, std: $1)
            }, specification: self)
        case .multivariateNormal(let mean, let cov):
            let path = "\(keyPath).mvnormal"
            guard !mean.isEmpty else { throw fail("\(path).mean", "needs at least one value") }
            try finite(mean, "\(path).mean")
            guard cov.count == mean.count, cov.allSatisfy({ $0.count == mean.count }) else {
                throw fail("\(path).cov", "must be \(mean.count)×\(mean.count) to match mean, got \(cov.count) rows of lengths \(cov.map(\.count))")
            }
            do {
                return try MultivariateNormalPrior(mean: mean, covariance: Matrix(cov), specification: self)
            } catch let e as Cholesky.NotPositiveDefinite {
                throw fail("\(path).cov", "\(e)")
            }
        case .independent(let parts):
            var components: [IndependentPrior.Component] = []
            for (i, part) in parts.enumerated() {
                let built = try part.makePrior(source: source, keyPath: "\(keyPath).independent[\(i)]")
                guard let independent = built as? IndependentPrior, independent.dimension == 1 else {
                    throw fail("\(keyPath).independent[\(i)]", "each component must be a one-dimensional uniform, normal or lognormal prior")
                }
                components += independent.components
            }
            return IndependentPrior(components: components, specification: self)
        }
    }
}
