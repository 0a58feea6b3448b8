import ILITensor

/// The Gaussian linear task: θ ~ N(0, σ²_p I), x ~ N(θ, σ²_l I), with the exact posterior
/// N(x·σ²_p/(σ²_p + σ²_l), σ²_p σ²_l/(σ²_p + σ²_l) I). With the benchmark's 0.1 and 0.1
/// in 10-D that is N(x/2, 0.05 I).
public struct GaussianLinear: ReferenceTask {
    public let dimension: Int
    public let priorVariance: Double
    public let noiseVariance: Double

    public init(dimension: Int = 10, priorVariance: Double = 0.1, noiseVariance: Double = 0.1) {
        self.dimension = dimension
        self.priorVariance = priorVariance
        self.noiseVariance = noiseVariance
    }

    public var thetaDimension: Int { dimension }
    public var xDimension: Int { dimension }
    public var prior: any Prior {
        try! PriorSpecification.normal(mean: Array(repeating: 0, count: dimension),
                                       std: Array(repeating: priorVariance.squareRoot(), count: dimension)).makePrior()
    }

    public var posteriorShrinkage: Double { priorVariance / (priorVariance + noiseVariance) }
    public var posteriorVariance: Double { priorVariance * noiseVariance / (priorVariance + noiseVariance) }

    public func simulate(_ theta: Matrix<Double>, rng: inout RandomSource) -> Matrix<Double> {
        let s = noiseVariance.squareRoot()
        return Matrix(rows: theta.rows, cols: dimension) { i, j in theta[i, j] + s * rng.normal() }
    }

    public func referencePosterior(_ count: Int, observation x: [Double], rng: inout RandomSource) throws -> Matrix<Double> {
        let s = posteriorVariance.squareRoot()
        return Matrix(rows: count, cols: dimension) { _, j in posteriorShrinkage * x[j] + s * rng.normal() }
    }
}
