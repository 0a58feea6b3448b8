/// A trainable matrix and the gradient accumulated for it by `Tape.backward`.
///
/// Parameters outlive tapes: a training step records a fresh tape that reads
/// the parameters, and the optimizer updates them in place afterwards.
///
/// ```swift
/// var rng = RandomSource(seed: 0)
/// let w = Parameter<Float>.linearWeight(outputs: 50, inputs: 12, rng: &rng)
/// ```
public final class Parameter<Scalar: TensorScalar> {
    public var value: Matrix<Scalar>
    /// The gradient summed over every `backward` since the last `zeroGradient()`;
    /// `nil` when nothing has reached this parameter.
    public var gradient: Matrix<Scalar>?
    /// A name for files and messages, e.g. `"made.0.weight"`.
    public var name: String

    public init(_ value: Matrix<Scalar>, name: String = "") {
        self.value = value
        self.gradient = nil
        self.name = name
    }

    public func zeroGradient() { gradient = nil }

    /// Adds `g` to the gradient summed so far (or starts it). Inlinable so that a caller's
    /// Float code adds with vector instructions: unspecialized, every element's `+=` went
    /// through the protocol witness (6% of an NLE training run).
    @inlinable
    public func accumulateGradient(_ g: Matrix<Scalar>) {
        if gradient == nil { gradient = g } else { gradient!.add(g) }
    }

    /// A weight of PyTorch's `Linear` shape (outputs × inputs) initialised as PyTorch
    /// does: uniform on ±1/√inputs, so that training curves are comparable.
    public static func linearWeight(outputs: Int, inputs: Int, rng: inout RandomSource,
                                    name: String = "") -> Parameter {
        let bound = Scalar(1) / Scalar.sqrt(Scalar(max(inputs, 1)))
        return Parameter(rng.uniformMatrix(rows: outputs, cols: inputs, low: -bound, high: bound), name: name)
    }

    /// A bias row (1 × outputs) initialised uniform on ±1/√inputs, as PyTorch does.
    public static func linearBias(outputs: Int, inputs: Int, rng: inout RandomSource,
                                  name: String = "") -> Parameter {
        let bound = Scalar(1) / Scalar.sqrt(Scalar(max(inputs, 1)))
        return Parameter(rng.uniformMatrix(rows: 1, cols: outputs, low: -bound, high: bound), name: name)
    }
}
