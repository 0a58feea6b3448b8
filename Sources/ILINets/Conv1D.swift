import RealModule

/// A one-dimensional convolution layer over rows that hold `channels × length` values
/// (channel-major), computed as im2col followed by a single gemm for the whole batch.
///
/// ```swift
/// let conv = Conv1D<Float>(inputChannels: 1, outputChannels: 8, kernelSize: 5, rng: &rng, name: "conv0")
/// let h = conv(x, length: 128)      // m × (8 · 124)
/// ```
public final class Conv1D<Scalar: TensorScalar> {
    /// outputChannels × (inputChannels · kernelSize), PyTorch's `Conv1d.weight` flattened.
    public let weight: Parameter<Scalar>
    /// 1 × outputChannels.
    public let bias: Parameter<Scalar>
    public let inputChannels: Int
    public let outputChannels: Int
    public let kernelSize: Int
    public let stride: Int
    public let padding: Int

    public init(inputChannels: Int, outputChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                rng: inout RandomSource, name: String) {
        precondition(kernelSize >= 1 && stride >= 1 && padding >= 0, "conv1d kernel \(kernelSize), stride \(stride), padding \(padding)")
        self.inputChannels = inputChannels
        self.outputChannels = outputChannels
        self.kernelSize = kernelSize
        self.stride = stride
        self.padding = padding
        // PyTorch's default: uniform on ±1/√(inputChannels · kernelSize).
        weight = .linearWeight(outputs: outputChannels, inputs: inputChannels * kernelSize, rng: &rng, name: "\(name).weight")
        bias = .linearBias(outputs: outputChannels, inputs: inputChannels * kernelSize, rng: &rng, name: "\(name).bias")
    }

    public var parameters: [Parameter<Scalar>] { [weight, bias] }

    /// The output length for an input of `length` samples.
    @inlinable
    public func outputLength(_ length: Int) -> Int { (length + 2 * padding - kernelSize) / stride + 1 }

    @inlinable
    public func callAsFunction(_ x: Variable<Scalar>, length: Int) -> Variable<Scalar> {
        conv1d(x, weight: x.tape.read(weight), bias: x.tape.read(bias), inputChannels: inputChannels,
               length: length, kernelSize: kernelSize, stride: stride, padding: padding)
    }
}

/// The convolution of each row of `x` (m × channels·length, channel-major) with `weight`
/// (outChannels × channels·kernelSize) plus `bias` (1 × outChannels): m × outChannels·outLength.
/// One tape node; the backward pass is a gemm for the weight and a col2im for the input.
@inlinable
public func conv1d<Scalar>(_ x: Variable<Scalar>, weight: Variable<Scalar>, bias: Variable<Scalar>,
                           inputChannels: Int, length: Int, kernelSize: Int, stride: Int = 1,
                           padding: Int = 0) -> Variable<Scalar> {
    let xv = x.value, wv = weight.value, bv = bias.value
    let m = xv.rows
    let outChannels = wv.rows
    let patch = inputChannels * kernelSize
    precondition(xv.cols == inputChannels * length,
                 "conv1d input \(xv.shapeDescription): rows must hold \(inputChannels) channels × \(length) samples")
    precondition(wv.cols == patch, "conv1d weight \(wv.shapeDescription) for \(inputChannels) channels and kernel \(kernelSize)")
    precondition(bv.rows == 1 && bv.cols == outChannels, "conv1d bias \(bv.shapeDescription) for \(outChannels) channels")
    let outLength = (length + 2 * padding - kernelSize) / stride + 1
    precondition(outLength >= 1, "conv1d kernel \(kernelSize) longer than the padded input \(length + 2 * padding)")

    // Row b·outLength + t of `columns` is the receptive field of output t of sample b.
    let columns = Matrix<Scalar>(rows: m * outLength, cols: patch) { out in
        xv.storage.withUnsafeBufferPointer { src in
            for b in 0..<m {
                for t in 0..<outLength {
                    let row = (b * outLength + t) * patch
                    for c in 0..<inputChannels {
                        for k in 0..<kernelSize {
                            let position = t * stride + k - padding
                            out[row + c * kernelSize + k] = position >= 0 && position < length
                                ? src[b * xv.cols + c * length + position] : 0
                        }
                    }
                }
            }
        }
    }
    let products = Matrix.product(columns, wv, transposeB: true)      // (m·outLength) × outChannels
    let y = Matrix<Scalar>(rows: m, cols: outChannels * outLength) { out in
        for b in 0..<m {
            for o in 0..<outChannels {
                let bo = bv.storage[o]
                for t in 0..<outLength {
                    out[b * outChannels * outLength + o * outLength + t] = products.storage[(b * outLength + t) * outChannels + o] + bo
                }
            }
        }
    }
    return x.tape.record(y, inputs: x, weight, bias) { tape, g in
        let gProducts = Matrix<Scalar>(rows: m * outLength, cols: outChannels) { out in
            for b in 0..<m {
                for o in 0..<outChannels {
                    for t in 0..<outLength {
                        out[(b * outLength + t) * outChannels + o] = g.storage[b * outChannels * outLength + o * outLength + t]
                    }
                }
            }
        }
        if tape.needsGradient(weight) { tape.accumulateProduct(into: weight, gProducts, columns, transposeA: true) }
        if tape.needsGradient(bias) { tape.accumulateGradient(gProducts.sumEachColumn(), into: bias) }
        if tape.needsGradient(x) {
            let gColumns = Matrix.product(gProducts, wv)
            var gx = Matrix<Scalar>(rows: m, cols: xv.cols, repeating: 0)
            for b in 0..<m {
                for t in 0..<outLength {
                    let row = (b * outLength + t) * patch
                    for c in 0..<inputChannels {
                        for k in 0..<kernelSize {
                            let position = t * stride + k - padding
                            if position >= 0 && position < length {
                                gx.storage[b * xv.cols + c * length + position] += gColumns.storage[row + c * kernelSize + k]
                            }
                        }
                    }
                }
            }
            tape.accumulateGradient(gx, into: x)
        }
    }
}

/// Max or average pooling over non-overlapping windows of `size` samples in each channel
/// of rows holding `channels × length` values; a trailing partial window is dropped.
@inlinable
public func pool1d<Scalar>(_ x: Variable<Scalar>, channels: Int, length: Int, size: Int, maximum: Bool) -> Variable<Scalar> {
    let xv = x.value
    let m = xv.rows
    precondition(xv.cols == channels * length, "pooling input \(xv.shapeDescription): rows must hold \(channels) × \(length) values")
    let outLength = length / size
    precondition(outLength >= 1, "pooling window \(size) longer than the series (\(length))")
    var winners = [Int](repeating: 0, count: maximum ? m * channels * outLength : 0)
    let y = Matrix<Scalar>(rows: m, cols: channels * outLength) { out in
        for b in 0..<m {
            for c in 0..<channels {
                for t in 0..<outLength {
                    let start = b * xv.cols + c * length + t * size
                    let o = b * channels * outLength + c * outLength + t
                    if maximum {
                        var best = start
                        for k in 1..<size where xv.storage[start + k] > xv.storage[best] { best = start + k }
                        winners[o] = best
                        out[o] = xv.storage[best]
                    } else {
                        var s: Scalar = 0
                        for k in 0..<size { s += xv.storage[start + k] }
                        out[o] = s / Scalar(size)
                    }
                }
            }
        }
    }
    return x.tape.record(y, inputs: x) { tape, g in
        var gx = Matrix<Scalar>(rows: m, cols: xv.cols, repeating: 0)
        for b in 0..<m {
            for c in 0..<channels {
                for t in 0..<outLength {
                    let o = b * channels * outLength + c * outLength + t
                    if maximum {
                        gx.storage[winners[o]] += g.storage[o]
                    } else {
                        let start = b * xv.cols + c * length + t * size
                        for k in 0..<size { gx.storage[start + k] += g.storage[o] / Scalar(size) }
                    }
                }
            }
        }
        tape.accumulateGradient(gx, into: x)
    }
}
