import RealModule

/// A multilayer perceptron: linear layers with an activation between them (none after the last).
///
/// ```swift
/// var rng = RandomSource(seed: 0)
/// let mlp = MultilayerPerceptron<Float>(widths: [4, 50, 50, 1], activation: .relu, rng: &rng, name: "clf")
/// let logits = mlp(tape.constant(batch))       // batch × 1
/// ```
public final class MultilayerPerceptron<Scalar: TensorScalar> {
    public let layers: [Linear<Scalar>]
    public let activation: Activation

    public init(widths: [Int], activation: Activation, rng: inout RandomSource, name: String) {
        precondition(widths.count >= 2, "a perceptron needs at least input and output widths, got \(widths)")
        var layers: [Linear<Scalar>] = []
        for (k, (fanIn, fanOut)) in zip(widths, widths.dropFirst()).enumerated() {
            layers.append(Linear(inputs: fanIn, outputs: fanOut, rng: &rng, name: "\(name).\(k)"))
        }
        self.layers = layers
        self.activation = activation
    }

    @inlinable
    public func callAsFunction(_ x: Variable<Scalar>) -> Variable<Scalar> {
        var h = x
        for (k, layer) in layers.enumerated() {
            h = layer(h, activation: k < layers.count - 1 ? activation : .identity)
        }
        return h
    }

    public var parameters: [Parameter<Scalar>] { layers.flatMap(\.parameters) }
}

/// A residual network with optional context, the conditioner of spline couplings and the
/// default ratio classifier.
///
/// The input and the context are concatenated into a first linear layer of `hidden`
/// units; each block then adds `linear(act(linear(act(h))))` to `h`, gated element-wise
/// by `sigmoid(linear(context))` when there is a context; a last linear layer maps to the
/// outputs. Each block's second layer starts within ±1e-3 so that a fresh block is almost
/// the identity, which keeps untrained deep stacks well conditioned. Without a context and
/// with ReLU, tanh or no activation, the network runs as one fused node (`residualStack`).
///
/// ```swift
/// let net = ResidualNetwork<Float>(inputs: 1, context: 3, hidden: 50, outputs: 29,
///                                  blocks: 2, activation: .relu, rng: &rng, name: "coupling.0")
/// let params = net(x1, context: c)
/// ```
public final class ResidualNetwork<Scalar: TensorScalar> {
    public let initial: Linear<Scalar>
    public let blocks: [(first: Linear<Scalar>, second: Linear<Scalar>, gate: Linear<Scalar>?)]
    public let final: Linear<Scalar>
    public let activation: Activation
    public let contextCount: Int

    public init(inputs: Int, context: Int, hidden: Int, outputs: Int, blocks blockCount: Int,
                activation: Activation, rng: inout RandomSource, name: String) {
        initial = Linear(inputs: inputs + context, outputs: hidden, rng: &rng, name: "\(name).initial")
        var blocks: [(Linear<Scalar>, Linear<Scalar>, Linear<Scalar>?)] = []
        for b in 0..<blockCount {
            let first = Linear<Scalar>(inputs: hidden, outputs: hidden, rng: &rng, name: "\(name).block\(b).first")
            let second = Linear<Scalar>(inputs: hidden, outputs: hidden, rng: &rng, name: "\(name).block\(b).second")
            second.initializeUniform(bound: 1e-3, rng: &rng)
            let gate = context > 0
                ? Linear<Scalar>(inputs: context, outputs: hidden, rng: &rng, name: "\(name).block\(b).gate") : nil
            blocks.append((first, second, gate))
        }
        self.blocks = blocks
        final = Linear(inputs: hidden, outputs: outputs, rng: &rng, name: "\(name).final")
        self.activation = activation
        self.contextCount = context
    }

    @inlinable
    public func callAsFunction(_ x: Variable<Scalar>, context: Variable<Scalar>?) -> Variable<Scalar> {
        if contextCount == 0 && ResidualStackKernels.fuses(activation) {
            let tape = x.tape
            let layers = [initial] + blocks.flatMap { [$0.first, $0.second] } + [final]
            return residualStack(x, layers: layers.map { (tape.read($0.weight), tape.read($0.bias!)) }, activation: activation)
        }
        return composed(x, context: context)
    }

    /// The network as separate tape nodes: with a context, for activations `residualStack`
    /// does not fuse, and as the reference the fused node is tested against.
    @inlinable
    public func composed(_ x: Variable<Scalar>, context: Variable<Scalar>?) -> Variable<Scalar> {
        var h: Variable<Scalar>
        if let context, contextCount > 0 {
            h = initial(x.tape.concatColumns([x, context]))
        } else {
            h = initial(x)
        }
        for block in blocks {
            var t = block.first(activation.apply(h), activation: activation)
            t = block.second(t)
            if let gate = block.gate, let context {
                h = gatedResidual(h, t, context: context, weight: x.tape.read(gate.weight), bias: x.tape.read(gate.bias!))
            } else {
                h = h + t
            }
        }
        return final(h)
    }

    public var parameters: [Parameter<Scalar>] {
        initial.parameters + blocks.flatMap { $0.first.parameters + $0.second.parameters + ($0.gate?.parameters ?? []) }
            + final.parameters
    }
}

/// `h + t ⊙ sigmoid(c·Wᵀ + b)`: a residual block's output gated by the context, as one
/// tape node with a hand-written backward.
@inlinable
public func gatedResidual<Scalar>(_ h: Variable<Scalar>, _ t: Variable<Scalar>, context: Variable<Scalar>,
                                  weight: Variable<Scalar>, bias: Variable<Scalar>) -> Variable<Scalar> {
    let hv = h.value, tv = t.value, cv = context.value, wv = weight.value, bv = bias.value
    let (m, n) = (hv.rows, hv.cols)
    precondition(tv.rows == m && tv.cols == n && cv.rows == m && wv.rows == n && wv.cols == cv.cols && bv.cols == n,
                 "gated residual of \(hv.shapeDescription) and \(tv.shapeDescription) with context \(cv.shapeDescription), weight \(wv.shapeDescription)")
    var pre = Matrix<Scalar>(rows: m, cols: n) { out in
        bv.storage.withUnsafeBufferPointer { b in
            for i in 0..<m { (out.baseAddress! + i * n).initialize(from: b.baseAddress!, count: n) }
        }
    }
    pre.addProduct(cv, wv, transposeB: true, beta: 1)
    let gate = pre.bulk(Scalar.sigmoid)
    let y = Matrix<Scalar>(rows: m, cols: n) { out in
        hv.storage.withUnsafeBufferPointer { hb in
            tv.storage.withUnsafeBufferPointer { tb in
                gate.storage.withUnsafeBufferPointer { sb in
                    for i in 0..<out.count { out[i] = hb[i] + tb[i] * sb[i] }
                }
            }
        }
    }
    return h.tape.record(y, inputs: h, t, context, weight, bias) { tape, g in
        if tape.needsGradient(h) { tape.accumulateGradient(g, into: h) }
        if tape.needsGradient(t) { tape.accumulateGradient(g.zip(gate, *), into: t) }
        let gPre = Matrix<Scalar>(rows: m, cols: n) { out in
            g.storage.withUnsafeBufferPointer { gb in
                tv.storage.withUnsafeBufferPointer { tb in
                    gate.storage.withUnsafeBufferPointer { sb in
                        for i in 0..<out.count { out[i] = gb[i] * tb[i] * sb[i] * (1 - sb[i]) }
                    }
                }
            }
        }
        if tape.needsGradient(context) { tape.accumulateProduct(into: context, gPre, wv) }
        if tape.needsGradient(weight) { tape.accumulateProduct(into: weight, gPre, cv, transposeA: true) }
        if tape.needsGradient(bias) { tape.accumulateGradient(gPre.sumEachColumn(), into: bias) }
    }
}
