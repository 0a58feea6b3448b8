import RealModule

/// A rational-quadratic coupling step of a neural spline flow: the features where `mask`
/// is true are transformed by splines whose parameters a residual network computes from
/// the other features and the context; the rest pass through unchanged.
///
/// With a single feature there is nothing to condition on, and the spline parameters
/// come from the context alone (a small network of the context, or free parameters
/// when there is no context).
public final class SplineCouplingTransform<Scalar: TensorScalar> {
    public let transformedFeatures: [Int]
    public let identityFeatures: [Int]
    public let spline: RationalQuadraticSpline<Scalar>
    public let conditioner: ResidualNetwork<Scalar>?
    /// The context-only map of a one-dimensional flow.
    public let contextNetwork: MultilayerPerceptron<Scalar>?
    /// The spline parameters of an unconditional one-dimensional flow.
    public let freeParameters: Parameter<Scalar>?
    @usableFromInline let featureCount: Int

    public init(features: Int, context: Int, transformEvenFeatures: Bool, hidden: Int, blocks: Int,
                bins: Int, tailBound: Scalar, activation: Activation, rng: inout RandomSource, name: String) {
        featureCount = features
        if features == 1 {
            transformedFeatures = [0]
            identityFeatures = []
        } else {
            let start = transformEvenFeatures ? 0 : 1
            let moving = Array(stride(from: start, to: features, by: 2))
            transformedFeatures = moving
            identityFeatures = (0..<features).filter { !moving.contains($0) }
        }
        spline = RationalQuadraticSpline(binCount: bins, tailBound: tailBound,
                                         logitScale: 1 / Scalar.sqrt(Scalar(hidden)))
        let outputs = transformedFeatures.count * spline.parametersPerFeature
        if features > 1 {
            conditioner = ResidualNetwork(inputs: identityFeatures.count, context: context, hidden: hidden,
                                          outputs: outputs, blocks: blocks, activation: activation,
                                          rng: &rng, name: "\(name).conditioner")
            contextNetwork = nil
            freeParameters = nil
        } else if context > 0 {
            conditioner = nil
            contextNetwork = MultilayerPerceptron(widths: [context, hidden, outputs], activation: activation,
                                                  rng: &rng, name: "\(name).contextSpline")
            freeParameters = nil
        } else {
            conditioner = nil
            contextNetwork = nil
            freeParameters = Parameter(rng.uniformMatrix(rows: 1, cols: outputs, low: -0.1, high: 0.1),
                                       name: "\(name).splineParameters")
        }
    }

    public var parameters: [Parameter<Scalar>] {
        (conditioner?.parameters ?? []) + (contextNetwork?.parameters ?? []) + (freeParameters.map { [$0] } ?? [])
    }

    /// The spline parameters for each row, from the identity features and the context.
    @inlinable
    func splineParameters(identity: Variable<Scalar>?, context: Variable<Scalar>?, rows: Int, tape: Tape<Scalar>) -> Variable<Scalar> {
        if let conditioner, let identity { return conditioner(identity, context: context) }
        if let contextNetwork, let context { return contextNetwork(context) }
        let free = tape.read(freeParameters!)
        return tape.constant(Matrix(rows: rows, cols: 1, repeating: 1)).matmul(free)
    }

    @inlinable
    public func forward(_ x: Variable<Scalar>, context: Variable<Scalar>?) -> (Variable<Scalar>, Variable<Scalar>) {
        let tape = x.tape
        let identity = identityFeatures.isEmpty ? nil : x.gatherColumns(identityFeatures)
        let moving = featureCount == 1 ? x : x.gatherColumns(transformedFeatures)
        let p = splineParameters(identity: identity, context: context, rows: x.rows, tape: tape)
        let (moved, logDet) = spline.forward(moving, parameters: p)
        guard let identity else { return (moved, logDet) }
        // Put the columns back in place: [identity | moved] reordered.
        let order = (0..<featureCount).map { j -> Int in
            if let k = identityFeatures.firstIndex(of: j) { return k }
            return identityFeatures.count + transformedFeatures.firstIndex(of: j)!
        }
        return (tape.concatColumns([identity, moved]).gatherColumns(order), logDet)
    }

    @inlinable
    public func inverse(_ z: Matrix<Scalar>, context: Variable<Scalar>?, tape: Tape<Scalar>) -> Matrix<Scalar> {
        let identity = identityFeatures.isEmpty ? nil : tape.constant(z).gatherColumns(identityFeatures)
        let p = splineParameters(identity: identity, context: context, rows: z.rows, tape: tape).value
        let moving = Matrix<Scalar>(rows: z.rows, cols: transformedFeatures.count) { i, j in z[i, transformedFeatures[j]] }
        let moved = spline.inverse(moving, parameters: p)
        var x = z
        for i in 0..<z.rows {
            for (j, f) in transformedFeatures.enumerated() { x[i, f] = moved[i, j] }
        }
        return x
    }
}
