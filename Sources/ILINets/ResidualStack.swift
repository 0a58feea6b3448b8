import RealModule

/// A context-free residual network as one tape node, computed a tile of rows at a time.
///
/// `layers` are (weight, bias) pairs in order: the first layer (hidden × inputs), then each
/// block's two layers (hidden × hidden), then the last layer (outputs × hidden). The network is
///
///     h₀ = x·W₀ᵀ + b₀;   hₖ₊₁ = hₖ + act(act(hₖ)·W₁ᵀ + b₁)·W₂ᵀ + b₂;   y = h_B·W_Lᵀ + b_L
///
/// — the same function as `ResidualNetwork` composed of separate nodes, for the activations
/// whose derivative follows from their output (ReLU, tanh, identity).
///
/// Why one node: a ratio classifier's step runs this network on 2,000 rows of 50 units, and
/// composed of separate nodes it made some twenty passes over 400 KB intermediates, a third
/// of the step. Here each tile of `tileRows` rows goes through every layer while its
/// intermediates are still in the core's cache, element-wise work is fused into the passes
/// that fill gemm's output, and tiles are small enough for OpenBLAS's unpacked small-matrix
/// kernels. Only what the backward pass reads is kept for all rows: each block's two
/// activations and the last hidden state.
///
/// Rows are cut into chunks of `chunkRows` that `RowParallelism` spreads over threads; each
/// chunk adds its own share of the weight gradients, and the shares are summed in chunk
/// order, so the results do not depend on the number of threads.
///
/// ```swift
/// let y = residualStack(x, layers: [(w0, b0), (w1, b1), (w2, b2), (wL, bL)], activation: .relu)
/// ```
@inlinable
public func residualStack<Scalar>(_ x: Variable<Scalar>, layers: [(weight: Variable<Scalar>, bias: Variable<Scalar>)],
                                  activation: Activation) -> Variable<Scalar> {
    precondition(ResidualStackKernels.fuses(activation), "residualStack computes ReLU, tanh or identity, not \(activation)")
    precondition(layers.count >= 2 && layers.count % 2 == 0,
                 "a residual stack has a first layer, pairs of block layers and a last layer; got \(layers.count) layers")
    let tape = x.tape
    let xv = x.value
    let weights = layers.map(\.weight.value), biases = layers.map(\.bias.value)
    let (m, inputs, hidden, outputs) = (xv.rows, xv.cols, weights[0].rows, weights[layers.count - 1].rows)
    let blockCount = (layers.count - 2) / 2
    precondition(weights[0].cols == inputs, "first layer takes \(weights[0].cols) inputs, applied to a \(xv.shapeDescription) batch")
    for (l, w) in weights.enumerated() {
        let expectedCols = l == 0 ? inputs : hidden
        let expectedRows = l == layers.count - 1 ? outputs : hidden
        precondition(w.rows == expectedRows && w.cols == expectedCols,
                     "layer \(l) weight is \(w.shapeDescription), expected \(expectedRows)x\(expectedCols)")
        precondition(biases[l].rows == 1 && biases[l].cols == w.rows, "layer \(l) bias is \(biases[l].shapeDescription) for \(w.rows) outputs")
    }
    // No rows: nothing to compute, and nothing for any gradient.
    guard m > 0 else { return tape.constant(Matrix(rows: 0, cols: outputs, [])) }
    var inputVariables = [x]
    for layer in layers { inputVariables += [layer.weight, layer.bias] }
    let keepForBackward = inputVariables.contains { tape.needsGradient($0) }

    // Transposed once per call so that every tile product is a plain NN gemm, the case
    // OpenBLAS's small-matrix kernels cover.
    let transposed = weights.map { $0.transposed }
    let shape = ResidualStackKernels.Shape(rows: m, inputs: inputs, hidden: hidden, outputs: outputs, blocks: blockCount)
    let chunks = ResidualStackKernels.chunks(rows: m)
    // What backward reads, for every row: act(hₖ) and act(act(hₖ)·W₁ᵀ + b₁) of each block
    // (slots 2k and 2k + 1 of `saved`), and h_B. Nothing without a backward.
    let keptRows = keepForBackward ? m : 0
    var saved = Matrix<Scalar>(rows: 0, cols: hidden, [])
    var lastHiddenState = saved
    let y = Matrix<Scalar>(rows: m, cols: outputs) { yb in
        lastHiddenState = Matrix(rows: keptRows, cols: hidden) { hb in
            saved = Matrix(rows: 2 * blockCount * keptRows, cols: hidden) { sb in
                xv.storage.withUnsafeBufferPointer { xb in
                    let (xp, output) = (xb.baseAddress!, yb.baseAddress!)
                    let kept: (saved: UnsafeMutablePointer<Scalar>, lastHidden: UnsafeMutablePointer<Scalar>)? =
                        keepForBackward ? (sb.baseAddress!, hb.baseAddress!) : nil
                    RowParallelism.forEach(chunks.count) { c in
                        ResidualStackKernels.forward(shape, rows: chunks[c], x: xp, transposedWeights: transposed, biases: biases,
                                                     output: output, kept: kept, activation: activation)
                    }
                }
            }
        }
    }
    guard keepForBackward else { return tape.constant(y) }

    let activations = saved, lastHidden = lastHiddenState
    return tape.record(y, inputs: inputVariables) { tape, g in
        let layout = ResidualStackKernels.GradientLayout(weights: weights)
        // Only x needs a gradient when the weights were read from an evaluation-only tape.
        let withWeights = layers.contains { tape.needsGradient($0.weight) || tape.needsGradient($0.bias) }
        // Each chunk's share of the weight and bias gradients, summed in chunk order below.
        var shares = Matrix<Scalar>(rows: chunks.count, cols: layout.count, repeating: 0)
        var inputGradient = tape.needsGradient(x) ? Matrix<Scalar>(rows: m, cols: inputs, repeating: 0) : nil
        func backward(inputRows: UnsafeMutablePointer<Scalar>?) {
            g.storage.withUnsafeBufferPointer { gb in
                xv.storage.withUnsafeBufferPointer { xb in
                    activations.storage.withUnsafeBufferPointer { sb in
                        lastHidden.storage.withUnsafeBufferPointer { hb in
                            shares.storage.withUnsafeMutableBufferPointer { shareBuffer in
                                let (gp, xp, sp, hp, share) = (gb.baseAddress!, xb.baseAddress!, sb.baseAddress!, hb.baseAddress!,
                                                              shareBuffer.baseAddress!)
                                RowParallelism.forEach(chunks.count) { c in
                                    ResidualStackKernels.backward(shape, rows: chunks[c], outputGradient: gp, x: xp, saved: sp,
                                                                  lastHidden: hp, weights: weights, activation: activation,
                                                                  layout: layout, withWeights: withWeights,
                                                                  gradients: share + c * layout.count,
                                                                  inputGradient: inputRows)
                                }
                            }
                        }
                    }
                }
            }
        }
        if inputGradient == nil {
            backward(inputRows: nil)
        } else {
            inputGradient!.storage.withUnsafeMutableBufferPointer { backward(inputRows: $0.baseAddress!) }
        }
        if let inputGradient { tape.accumulateGradient(inputGradient, into: x) }
        guard withWeights else { return }
        let total = shares.sumEachColumn()
        for (l, layer) in layers.enumerated() {
            tape.accumulateGradient(layout.weightGradient(l, in: total), into: layer.weight)
            tape.accumulateGradient(layout.biasGradient(l, in: total), into: layer.bias)
        }
    }
}

/// The row-tile kernels of `residualStack`: gemm calls on row-major tiles and the fused
/// element-wise loops around them.
@usableFromInline
enum ResidualStackKernels {
    /// Rows per tile: the intermediates of a tile of 50 units fit in L2 with room to spare,
    /// and its 50×50 products stay under OpenBLAS's small-matrix limit (m·n·k ≤ 10⁶).
    @usableFromInline static let tileRows = 256

    @inlinable
    static func fuses(_ activation: Activation) -> Bool {
        activation == .relu || activation == .tanh || activation == .identity
    }

    /// Rows per chunk, the unit of work of one thread: two tiles. A training step's 2,000
    /// rows make four chunks.
    @usableFromInline static let chunkRows = 2 * tileRows

    @inlinable
    static func chunks(rows: Int) -> [Range<Int>] {
        stride(from: 0, to: rows, by: chunkRows).map { $0..<min($0 + chunkRows, rows) }
    }

    @usableFromInline
    struct Shape {
        @usableFromInline let rows, inputs, hidden, outputs, blocks: Int
        @inlinable init(rows: Int, inputs: Int, hidden: Int, outputs: Int, blocks: Int) {
            (self.rows, self.inputs, self.hidden, self.outputs, self.blocks) = (rows, inputs, hidden, outputs, blocks)
        }
    }

    /// Where each layer's weight and bias gradients sit in one flat row of a chunk's share.
    @usableFromInline
    struct GradientLayout {
        @usableFromInline let shapes: [(rows: Int, cols: Int)]
        @usableFromInline let weightOffsets: [Int], biasOffsets: [Int]
        @usableFromInline let count: Int

        @inlinable
        init<Scalar>(weights: [Matrix<Scalar>]) {
            var offset = 0, w: [Int] = [], b: [Int] = []
            for weight in weights {
                w.append(offset); offset += weight.count
                b.append(offset); offset += weight.rows
            }
            (shapes, weightOffsets, biasOffsets, count) = (weights.map { ($0.rows, $0.cols) }, w, b, offset)
        }

        @inlinable
        func weightGradient<Scalar>(_ layer: Int, in flat: Matrix<Scalar>) -> Matrix<Scalar> {
            let (rows, cols) = shapes[layer]
            return Matrix(rows: rows, cols: cols, Array(flat.storage[weightOffsets[layer]..<(weightOffsets[layer] + rows * cols)]))
        }

        @inlinable
        func biasGradient<Scalar>(_ layer: Int, in flat: Matrix<Scalar>) -> Matrix<Scalar> {
            let rows = shapes[layer].rows
            return Matrix(rows: 1, cols: rows, Array(flat.storage[biasOffsets[layer]..<(biasOffsets[layer] + rows)]))
        }
    }

    /// Writes the network's output for the rows `range`, tile by tile. With `kept`, also
    /// what backward reads, at those rows of the full-height buffers; without, the
    /// intermediates live in scratch space of one tile.
    @inlinable
    static func forward<Scalar: TensorScalar>(_ shape: Shape, rows range: Range<Int>, x: UnsafePointer<Scalar>,
                                              transposedWeights: [Matrix<Scalar>], biases: [Matrix<Scalar>],
                                              output: UnsafeMutablePointer<Scalar>,
                                              kept: (saved: UnsafeMutablePointer<Scalar>, lastHidden: UnsafeMutablePointer<Scalar>)?,
                                              activation: Activation) {
        let (hidden, lastLayer) = (shape.hidden, 2 * shape.blocks + 1)
        let tile = min(tileRows, range.count)
        // Tile-sized scratch: a block's inner layer before its activation; without `kept`
        // also the hidden state and a block's two activations, reused by every block.
        let scratchTiles = kept == nil ? 4 : 1
        let scratch = UnsafeMutablePointer<Scalar>.allocate(capacity: scratchTiles * tile * hidden)
        defer { scratch.deallocate() }
        let inner = scratch
        var start = range.lowerBound
        while start < range.upperBound {
            let rows = min(tileRows, range.upperBound - start)
            let h = kept.map { $0.lastHidden + start * hidden } ?? scratch + tile * hidden
            fillRows(h, rows: rows, with: biases[0])
            multiply(rows: rows, x + start * shape.inputs, transposedWeights[0], into: h, adding: true)
            for block in 0..<shape.blocks {
                let a = kept.map { $0.saved + (2 * block * shape.rows + start) * hidden } ?? scratch + 2 * tile * hidden
                let u = kept.map { $0.saved + ((2 * block + 1) * shape.rows + start) * hidden } ?? scratch + 3 * tile * hidden
                activate(h, into: a, count: rows * hidden, activation)
                fillRows(inner, rows: rows, with: biases[2 * block + 1])
                multiply(rows: rows, a, transposedWeights[2 * block + 1], into: inner, adding: true)
                activate(inner, into: u, count: rows * hidden, activation)
                fillRows(h, rows: rows, with: biases[2 * block + 2], adding: true)
                multiply(rows: rows, u, transposedWeights[2 * block + 2], into: h, adding: true)
            }
            let out = output + start * shape.outputs
            fillRows(out, rows: rows, with: biases[lastLayer])
            multiply(rows: rows, h, transposedWeights[lastLayer], into: out, adding: true)
            start += rows
        }
    }

    /// Adds the rows `range`'s share of every weight and bias gradient to `gradients` (laid
    /// out by `layout`) unless `withWeights` is false, and writes those rows of the input
    /// gradient when asked, from the gradient of the output and what `forward` kept.
    @inlinable
    static func backward<Scalar: TensorScalar>(_ shape: Shape, rows range: Range<Int>, outputGradient g: UnsafePointer<Scalar>,
                                               x: UnsafePointer<Scalar>, saved: UnsafePointer<Scalar>,
                                               lastHidden: UnsafePointer<Scalar>, weights: [Matrix<Scalar>],
                                               activation: Activation, layout: GradientLayout, withWeights: Bool,
                                               gradients: UnsafeMutablePointer<Scalar>, inputGradient: UnsafeMutablePointer<Scalar>?) {
        let (hidden, lastLayer, m) = (shape.hidden, 2 * shape.blocks + 1, shape.rows)
        let tile = min(tileRows, range.count)
        // The tile's gradients of the hidden state, of a block's inner layer before its
        // activation, and (first after it, then of the block's input activation) a
        // product's output.
        let scratch = UnsafeMutablePointer<Scalar>.allocate(capacity: 3 * tile * hidden)
        defer { scratch.deallocate() }
        let dh = scratch, dInner = scratch + tile * hidden, dOuter = scratch + 2 * tile * hidden
        func weightGradient(_ l: Int) -> UnsafeMutablePointer<Scalar> { gradients + layout.weightOffsets[l] }
        func biasGradient(_ l: Int) -> UnsafeMutablePointer<Scalar> { gradients + layout.biasOffsets[l] }
        var start = range.lowerBound
        while start < range.upperBound {
            let rows = min(tileRows, range.upperBound - start)
            let gTile = g + start * shape.outputs
            multiply(rows: rows, gTile, weights[lastLayer], into: dh)
            if withWeights {
                accumulateWeightGradient(rows: rows, gTile, lastHidden + start * hidden,
                                         into: weightGradient(lastLayer), outputs: shape.outputs, inputs: hidden)
                addColumnSums(gTile, rows: rows, cols: shape.outputs, into: biasGradient(lastLayer))
            }
            for block in (0..<shape.blocks).reversed() {
                let (first, second) = (2 * block + 1, 2 * block + 2)
                let a = saved + (2 * block * m + start) * hidden, u = saved + ((2 * block + 1) * m + start) * hidden
                if withWeights {
                    accumulateWeightGradient(rows: rows, dh, u, into: weightGradient(second), outputs: hidden, inputs: hidden)
                    addColumnSums(dh, rows: rows, cols: hidden, into: biasGradient(second))
                }
                multiply(rows: rows, dh, weights[second], into: dOuter)
                timesDerivative(dOuter, output: u, into: dInner, count: rows * hidden, activation)
                if withWeights {
                    accumulateWeightGradient(rows: rows, dInner, a, into: weightGradient(first), outputs: hidden, inputs: hidden)
                    addColumnSums(dInner, rows: rows, cols: hidden, into: biasGradient(first))
                }
                multiply(rows: rows, dInner, weights[first], into: dOuter)
                addTimesDerivative(dOuter, output: a, into: dh, count: rows * hidden, activation)
            }
            if withWeights {
                accumulateWeightGradient(rows: rows, dh, x + start * shape.inputs, into: weightGradient(0),
                                         outputs: hidden, inputs: shape.inputs)
                addColumnSums(dh, rows: rows, cols: hidden, into: biasGradient(0))
            }
            if let inputGradient {
                multiply(rows: rows, dh, weights[0], into: inputGradient + start * shape.inputs)
            }
            start += rows
        }
    }

    /// Every row of the `rows` × `row.cols` block at `out` set to `row`, or with `row` added
    /// when `adding`.
    @inlinable
    static func fillRows<Scalar: TensorScalar>(_ out: UnsafeMutablePointer<Scalar>, rows: Int, with row: Matrix<Scalar>,
                                               adding: Bool = false) {
        let n = row.cols
        row.storage.withUnsafeBufferPointer { r in
            for i in 0..<rows {
                let o = out + i * n
                if adding {
                    for j in 0..<n { o[j] += r[j] }
                } else {
                    for j in 0..<n { o[j] = r[j] }
                }
            }
        }
    }

    /// `out = a · b`, or `out += a · b` when `adding`, for a `rows` × b.rows tile `a`
    /// (row-major, dense) and a matrix `b`.
    @inlinable
    static func multiply<Scalar: TensorScalar>(rows: Int, _ a: UnsafePointer<Scalar>, _ b: Matrix<Scalar>,
                                               into out: UnsafeMutablePointer<Scalar>, adding: Bool = false) {
        b.storage.withUnsafeBufferPointer { pb in
            Scalar.gemm(transposeA: false, transposeB: false, m: rows, n: b.cols, k: b.rows,
                        alpha: 1, a: a, lda: b.rows, b: pb.baseAddress!, ldb: b.cols, beta: adding ? 1 : 0, c: out, ldc: b.cols)
        }
    }

    /// `gradient += gᵀ · input` for a tile: g is `rows` × `outputs`, input `rows` × `inputs`,
    /// the gradient `outputs` × `inputs`.
    @inlinable
    static func accumulateWeightGradient<Scalar: TensorScalar>(rows: Int, _ g: UnsafePointer<Scalar>, _ input: UnsafePointer<Scalar>,
                                                               into gradient: UnsafeMutablePointer<Scalar>, outputs: Int, inputs: Int) {
        Scalar.gemm(transposeA: true, transposeB: false, m: outputs, n: inputs, k: rows,
                    alpha: 1, a: g, lda: outputs, b: input, ldb: inputs, beta: 1, c: gradient, ldc: inputs)
    }

    /// The column sums of a `rows` × `cols` tile added to `sums`.
    @inlinable
    static func addColumnSums<Scalar: TensorScalar>(_ tile: UnsafePointer<Scalar>, rows: Int, cols: Int,
                                                    into sums: UnsafeMutablePointer<Scalar>) {
        for i in 0..<rows {
            let t = tile + i * cols
            for j in 0..<cols { sums[j] += t[j] }
        }
    }

    /// `output[i] = act(input[i])` into a distinct buffer (in place, relu's zeroing would
    /// become a conditional store, scalar or masked, which AMD cores microcode).
    @inlinable
    static func activate<Scalar: TensorScalar>(_ input: UnsafePointer<Scalar>, into output: UnsafeMutablePointer<Scalar>,
                                               count: Int, _ activation: Activation) {
        switch activation {
        case .relu:
            for i in 0..<count { output[i] = input[i] > 0 ? input[i] : 0 }
        case .tanh:
            Scalar.tanh(UnsafeBufferPointer(start: input, count: count), into: UnsafeMutableBufferPointer(start: output, count: count))
        default:
            output.update(from: input, count: count)   // Float and Double are trivial: update is initialize
        }
    }

    /// `into[i] = g[i] · act′`, where act′ is the derivative at the point whose activation
    /// is `output[i]`. Out of place: in place, relu's zeroing would become a conditional
    /// store (scalar, or masked stores that AMD cores microcode).
    @inlinable
    static func timesDerivative<Scalar: TensorScalar>(_ g: UnsafePointer<Scalar>, output: UnsafePointer<Scalar>,
                                                      into result: UnsafeMutablePointer<Scalar>, count: Int, _ activation: Activation) {
        switch activation {
        case .relu: for i in 0..<count { result[i] = output[i] > 0 ? g[i] : 0 }
        case .tanh: for i in 0..<count { result[i] = g[i] * (1 - output[i] * output[i]) }
        default: result.update(from: g, count: count)
        }
    }

    /// `into[i] += g[i] · act′`, with act′ as in `timesDerivative`.
    @inlinable
    static func addTimesDerivative<Scalar: TensorScalar>(_ g: UnsafePointer<Scalar>, output: UnsafePointer<Scalar>,
                                                         into sum: UnsafeMutablePointer<Scalar>, count: Int, _ activation: Activation) {
        switch activation {
        case .relu: for i in 0..<count { sum[i] += output[i] > 0 ? g[i] : 0 }
        case .tanh: for i in 0..<count { sum[i] += g[i] * (1 - output[i] * output[i]) }
        default: for i in 0..<count { sum[i] += g[i] }
        }
    }
}
