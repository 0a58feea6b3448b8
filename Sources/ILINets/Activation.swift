import RealModule

/// The non-linearities a network layer can use, named as in configuration files.
///
/// ```swift
/// let h = Activation.tanh.apply(x.linear(w, bias: b))
/// ```
public enum Activation: String, Codable, Sendable, CaseIterable {
    case tanh, relu, elu, silu, gelu, sigmoid, identity

    /// The activation applied element-wise on the tape.
    @inlinable
    public func apply<Scalar>(_ x: Variable<Scalar>) -> Variable<Scalar> {
        switch self {
        case .tanh: return x.tanh()
        case .relu: return x.relu()
        case .elu: return x.elu()
        case .silu: return x.silu()
        case .gelu: return x.gelu()
        case .sigmoid: return x.sigmoid()
        case .identity: return x
        }
    }
}
