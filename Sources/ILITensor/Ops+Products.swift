/// Matrix products through BLAS gemm, with transposes passed as flags rather than copies.
extension Variable {
    /// `op(self) · op(other)`, where `op` transposes when its flag is set.
    @inlinable
    public func matmul(_ other: Variable, transposeSelf: Bool = false, transposeOther: Bool = false) -> Variable {
        let a = value, b = other.value
        let y = Matrix.product(a, b, transposeA: transposeSelf, transposeB: transposeOther)
        return tape.record(y, inputs: self, other) { tape, g in
            if tape.needsGradient(self) {
                if transposeSelf {
                    tape.accumulateProduct(into: self, b, g, transposeA: transposeOther, transposeB: true)
                } else {
                    tape.accumulateProduct(into: self, g, b, transposeA: false, transposeB: !transposeOther)
                }
            }
            if tape.needsGradient(other) {
                if transposeOther {
                    tape.accumulateProduct(into: other, g, a, transposeA: true, transposeB: transposeSelf)
                } else {
                    tape.accumulateProduct(into: other, a, g, transposeA: !transposeSelf, transposeB: false)
                }
            }
        }
    }

    /// The affine map of a linear layer, `self · weightᵀ + bias`, as one operation.
    ///
    /// - Parameters:
    ///   - weight: outputs × inputs, PyTorch's `Linear.weight` layout.
    ///   - bias: a 1 × outputs row, or `nil`.
    @inlinable
    public func linear(_ weight: Variable, bias: Variable?) -> Variable {
        let x = value, w = weight.value
        precondition(x.cols == w.cols, "linear layer with \(w.cols) inputs applied to a \(x.shapeDescription) batch")
        let y = Self.affine(x, w, bias: bias?.value)
        let inputs = bias.map { [self, weight, $0] } ?? [self, weight]
        return tape.record(y, inputs: inputs) { tape, g in
            if tape.needsGradient(self) { tape.accumulateProduct(into: self, g, w) }
            if tape.needsGradient(weight) { tape.accumulateProduct(into: weight, g, x, transposeA: true) }
            if let bias, tape.needsGradient(bias) { tape.accumulateGradient(g.sumEachColumn(), into: bias) }
        }
    }

    /// A linear layer whose weight is multiplied element-wise by a fixed 0/1 `mask` of
    /// the same shape (the autoregressive layers of MADE), fused into one operation.
    @inlinable
    public func maskedLinear(_ weight: Variable, mask: Matrix<Scalar>, bias: Variable?) -> Variable {
        let x = value, w = weight.value
        precondition(w.rows == mask.rows && w.cols == mask.cols,
                     "mask \(mask.shapeDescription) for a \(w.shapeDescription) weight")
        precondition(x.cols == w.cols, "masked linear layer with \(w.cols) inputs applied to a \(x.shapeDescription) batch")
        let masked = w.zip(mask, *)
        let y = Self.affine(x, masked, bias: bias?.value)
        let inputs = bias.map { [self, weight, $0] } ?? [self, weight]
        return tape.record(y, inputs: inputs) { tape, g in
            if tape.needsGradient(self) { tape.accumulateProduct(into: self, g, masked) }
            if tape.needsGradient(weight) {
                tape.accumulateGradient(Matrix.product(g, x, transposeA: true).zip(mask, *), into: weight)
            }
            if let bias, tape.needsGradient(bias) { tape.accumulateGradient(g.sumEachColumn(), into: bias) }
        }
    }

    /// `x · wᵀ + bias` with the bias written first and gemm accumulating onto it.
    @inlinable
    static func affine(_ x: Matrix<Scalar>, _ w: Matrix<Scalar>, bias: Matrix<Scalar>?) -> Matrix<Scalar> {
        guard let bias else { return Matrix.product(x, w, transposeB: true) }
        precondition(bias.rows == 1 && bias.cols == w.rows,
                     "bias \(bias.shapeDescription) for a layer with \(w.rows) outputs")
        var y = Matrix<Scalar>(rows: x.rows, cols: w.rows) { out in
            bias.storage.withUnsafeBufferPointer { b in
                for i in 0..<x.rows {
                    (out.baseAddress! + i * w.rows).initialize(from: b.baseAddress!, count: w.rows)
                }
            }
        }
        y.addProduct(x, w, transposeB: true, beta: 1)
        return y
    }
}
