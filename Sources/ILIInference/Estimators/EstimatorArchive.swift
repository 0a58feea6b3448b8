import Foundation
import ILINets

/// Saves and restores a trained density estimator: its parameters and z-scoring in one
/// safetensors file, its configuration (with the permutations drawn) as JSON.
public enum EstimatorArchive {
    static let featureMean = "standardization.features.mean"
    static let featureStd = "standardization.features.std"
    static let contextMean = "standardization.context.mean"
    static let contextStd = "standardization.context.std"

    /// The weights file of `estimator`.
    public static func weights(of estimator: any ConditionalDensityEstimator<Float>) -> SafeTensors<Float> {
        var file = SafeTensors<Float>(metadata: ["format": "ili-density-estimator", "kind": estimator.configuration.kind.rawValue])
        for p in estimator.parameters { file.tensors[p.name] = p.value }
        file.tensors[featureMean] = estimator.featureStandardization.mean
        file.tensors[featureStd] = estimator.featureStandardization.standardDeviation
        file.tensors[contextMean] = estimator.contextStandardization.mean
        file.tensors[contextStd] = estimator.contextStandardization.standardDeviation
        return file
    }

    /// Rebuilds the estimator `configuration` describes and loads `weights` into it.
    ///
    /// - Throws: `FileFormatError` when a parameter is missing or has the wrong shape.
    public static func restore(configuration: DensityEstimatorConfiguration, weights: SafeTensors<Float>,
                               source: String) throws -> any ConditionalDensityEstimator<Float> {
        var rng = RandomSource(seed: 0)   // overwritten below; the permutations come from the configuration
        let estimator: any ConditionalDensityEstimator<Float> = try makeDensityEstimator(configuration, rng: &rng)
        for p in estimator.parameters {
            let value = try weights.tensor(p.name, source: source)
            guard value.rows == p.value.rows && value.cols == p.value.cols else {
                throw FileFormatError(.unsupportedShape, path: source,
                                      "tensor '\(p.name)' is \(value.shapeDescription) but the configuration needs \(p.value.shapeDescription)")
            }
            p.value = value
        }
        estimator.featureStandardization = Standardization(mean: try weights.tensor(featureMean, source: source),
                                                           standardDeviation: try weights.tensor(featureStd, source: source))
        estimator.contextStandardization = Standardization(mean: try weights.tensor(contextMean, source: source),
                                                           standardDeviation: try weights.tensor(contextStd, source: source))
        return estimator
    }
}
