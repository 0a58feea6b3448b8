import ILITensor
import RealModule

/// A product of independent one-dimensional priors: box uniform, independent normal and
/// log-normal, or any mix of them.
public struct IndependentPrior: Prior {
    /// One parameter's distribution.
    public enum Component: Sendable, Equatable {
        case uniform(low: Double, high: Double)
        case normal(mean: Double, std: Double)
        /// log θ ~ N(mean, std²): `mean` and `std` are those of the logarithm.
        case logNormal(mean: Double, std: Double)
    }

    public let components: [Component]
    public let specification: PriorSpecification

    public init(components: [Component], specification: PriorSpecification) {
        self.components = components
        self.specification = specification
    }

    public var dimension: Int { components.count }

    public var supportBounds: [SupportInterval] {
        components.map {
            switch $0 {
            case .uniform(let low, let high): return SupportInterval(lower: low, upper: high)
            case .normal: return .real
            case .logNormal: return .positive
            }
        }
    }

    static let halfLog2Pi = 0.5 * Double.log(2 * Double.pi)

    public func logProb(_ theta: Matrix<Double>) -> [Double] {
        precondition(theta.cols == dimension, "θ of width \(theta.cols) for a \(dimension)-parameter prior")
        return (0..<theta.rows).map { i in
            var total = 0.0
            for (j, c) in components.enumerated() {
                let x = theta[i, j]
                switch c {
                case .uniform(let low, let high):
                    guard x >= low && x <= high else { return -.infinity }
                    total -= Double.log(high - low)
                case .normal(let mean, let std):
                    let z = (x - mean) / std
                    total += -0.5 * z * z - Double.log(std) - Self.halfLog2Pi
                case .logNormal(let mean, let std):
                    guard x > 0 else { return -.infinity }
                    let lx = Double.log(x)
                    let z = (lx - mean) / std
                    total += -0.5 * z * z - Double.log(std) - Self.halfLog2Pi - lx
                }
            }
            return total.isNaN ? -.infinity : total
        }
    }

    public func sample(_ count: Int, rng: inout RandomSource) -> Matrix<Double> {
        var out = Matrix<Double>(rows: count, cols: dimension, repeating: 0)
        for i in 0..<count {
            for (j, c) in components.enumerated() {
                switch c {
                case .uniform(let low, let high): out[i, j] = rng.uniform(in: low, high)
                case .normal(let mean, let std): out[i, j] = mean + std * rng.normal()
                case .logNormal(let mean, let std): out[i, j] = Double.exp(mean + std * rng.normal())
                }
            }
        }
        return out
    }
}
