import RealModule

/// A fully connected layer `x · Wᵀ + b` with PyTorch's weight layout and initialisation.
///
/// ```swift
/// var rng = RandomSource(seed: 0)
/// let layer = Linear<Float>(inputs: 4, outputs: 50, rng: &rng, name: "net.0")
/// let h = layer(tape.constant(batch))          // batch × 50
/// ```
public final class Linear<Scalar: TensorScalar> {
    public let weight: Parameter<Scalar>
    public let bias: Parameter<Scalar>?

    public init(inputs: Int, outputs: Int, bias hasBias: Bool = true, rng: inout RandomSource, name: String) {
        weight = .linearWeight(outputs: outputs, inputs: inputs, rng: &rng, name: name + ".weight")
        bias = hasBias ? .linearBias(outputs: outputs, inputs: inputs, rng: &rng, name: name + ".bias") : nil
    }

    @inlinable public var inputCount: Int { weight.value.cols }
    @inlinable public var outputCount: Int { weight.value.rows }

    @inlinable
    public func callAsFunction(_ x: Variable<Scalar>) -> Variable<Scalar> {
        x.linear(x.tape.read(weight), bias: bias.map { x.tape.read($0) })
    }

    public var parameters: [Parameter<Scalar>] { [weight] + (bias.map { [$0] } ?? []) }

    /// Re-draws the weights and biases uniformly on ±`bound`, e.g. to start a residual
    /// branch near zero so that a fresh block is close to the identity.
    public func initializeUniform(bound: Scalar, rng: inout RandomSource) {
        weight.value = rng.uniformMatrix(rows: weight.value.rows, cols: weight.value.cols, low: -bound, high: bound)
        if let bias {
            bias.value = rng.uniformMatrix(rows: 1, cols: bias.value.cols, low: -bound, high: bound)
        }
    }
}
