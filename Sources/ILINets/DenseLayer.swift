import RealModule

/// `activation(x · (W ∘ mask)ᵀ + b)` as one tape node with a hand-written backward: the
/// layer every conditioner in this module is made of.
///
/// Fusing saves a node, a pass over the activations and two temporaries per layer, which
/// is a large share of a step at sbi's sizes (batch 200, 50 hidden units). tanh and ReLU
/// are fused; other activations are applied as separate nodes.
///
/// With `addend` (m × outputs), `activation(x · (W ∘ mask)ᵀ + b + addend)`: a MADE's first
/// layer takes its context term this way, in the same node.
///
/// ```swift
/// let h = denseLayer(x, weight: tape.read(w), bias: tape.read(b), mask: nil, activation: .tanh)
/// ```
@inlinable
public func denseLayer<Scalar>(_ x: Variable<Scalar>, weight: Variable<Scalar>, bias: Variable<Scalar>?,
                               mask: Matrix<Scalar>?, activation: Activation,
                               addend: Variable<Scalar>? = nil) -> Variable<Scalar> {
    switch activation {
    case .tanh, .relu, .identity: break
    default:
        var pre = mask.map { x.maskedLinear(weight, mask: $0, bias: bias) } ?? x.linear(weight, bias: bias)
        if let addend { pre = pre + addend }
        return activation.apply(pre)
    }
    let xv = x.value
    let w = mask.map { mask in
        Matrix<Scalar>(rows: mask.rows, cols: mask.cols) { out in
            weight.value.storage.withUnsafeBufferPointer { wb in
                mask.storage.withUnsafeBufferPointer { mb in
                    for i in 0..<out.count { out[i] = wb[i] * mb[i] }
                }
            }
        }
    } ?? weight.value
    precondition(xv.cols == w.cols, "layer with \(w.cols) inputs applied to a \(xv.shapeDescription) batch")
    let (m, n) = (xv.rows, w.rows)
    var y: Matrix<Scalar>
    if let b = bias?.value {
        precondition(b.rows == 1 && b.cols == n, "bias \(b.shapeDescription) for a layer with \(n) outputs")
        y = Matrix(rows: m, cols: n) { out in
            b.storage.withUnsafeBufferPointer { pb in
                for i in 0..<m { (out.baseAddress! + i * n).initialize(from: pb.baseAddress!, count: n) }
            }
        }
        y.addProduct(xv, w, transposeB: true, beta: 1)
    } else {
        y = Matrix.product(xv, w, transposeB: true)
    }
    if let a = addend?.value {
        precondition(a.rows == m && a.cols == n, "addend \(a.shapeDescription) for a \(m)×\(n) layer output")
        y.storage.withUnsafeMutableBufferPointer { out in
            a.storage.withUnsafeBufferPointer { ab in
                for i in 0..<out.count { out[i] += ab[i] }
            }
        }
    }
    switch activation {
    // Into a fresh buffer: with input and output aliased, the vectorizer's overlap check
    // fails and the kernel runs scalar, about 2.5x slower; relu in place becomes a
    // conditional store, scalar or masked (which AMD cores microcode).
    case .tanh: y = y.bulk(Scalar.tanh)
    case .relu:
        y = y.bulk { a, out in
            for i in 0..<a.count { out[i] = a[i] > 0 ? a[i] : 0 }
        }
    default: break
    }
    var inputs = [x, weight]
    if let bias { inputs.append(bias) }
    if let addend { inputs.append(addend) }
    let output = y
    return x.tape.record(output, inputs: inputs) { tape, g in
        // The gradient before the activation, from the activation's output.
        let gPre: Matrix<Scalar>
        switch activation {
        case .tanh, .relu:
            gPre = Matrix(rows: m, cols: n) { out in
                g.storage.withUnsafeBufferPointer { gb in
                    output.storage.withUnsafeBufferPointer { a in
                        if activation == .tanh {
                            for i in 0..<out.count { out[i] = gb[i] * (1 - a[i] * a[i]) }
                        } else {
                            for i in 0..<out.count { out[i] = a[i] > 0 ? gb[i] : 0 }
                        }
                    }
                }
            }
        default: gPre = g
        }
        if tape.needsGradient(x) { tape.accumulateProduct(into: x, gPre, w) }
        if tape.needsGradient(weight) {
            if let mask {
                var gw = Matrix.product(gPre, xv, transposeA: true)
                gw.storage.withUnsafeMutableBufferPointer { p in
                    mask.storage.withUnsafeBufferPointer { q in
                        for i in 0..<p.count { p[i] *= q[i] }
                    }
                }
                tape.accumulateGradient(gw, into: weight)
            } else {
                tape.accumulateProduct(into: weight, gPre, xv, transposeA: true)
            }
        }
        if let bias, tape.needsGradient(bias) { tape.accumulateGradient(gPre.sumEachColumn(), into: bias) }
        if let addend, tape.needsGradient(addend) { tape.accumulateGradient(gPre, into: addend) }
    }
}

extension Linear {
    /// `activation(self(x))`, fused into one node for tanh and ReLU.
    @inlinable
    public func callAsFunction(_ x: Variable<Scalar>, activation: Activation) -> Variable<Scalar> {
        denseLayer(x, weight: x.tape.read(weight), bias: bias.map { x.tape.read($0) }, mask: nil, activation: activation)
    }
}
