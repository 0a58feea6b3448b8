import Foundation

/// A radix-2 complex fast Fourier transform on square grids whose side is a power of two:
/// all the power-spectrum simulator needs (a 32 × 32 field, generated and measured).
///
/// The forward transform is unnormalised, X_k = Σ_n x_n e^(−2πi kn/N); the inverse divides
/// by N, so inverse(forward(x)) = x. A 2-D transform is the 1-D one over every row, then
/// over every column.
struct FourierTransform {
    let size: Int
    private let cosines: [Double]
    private let sines: [Double]
    private let bitReversed: [Int]

    init(size: Int) {
        precondition(size >= 1 && size & (size - 1) == 0, "the transform's size must be a power of two, got \(size)")
        self.size = size
        cosines = (0..<max(size / 2, 1)).map { cos(2 * Double.pi * Double($0) / Double(size)) }
        sines = (0..<max(size / 2, 1)).map { sin(2 * Double.pi * Double($0) / Double(size)) }
        let bits = size.trailingZeroBitCount
        bitReversed = (0..<size).map { i in
            var reversed = 0
            for b in 0..<bits where i & (1 << b) != 0 { reversed |= 1 << (bits - 1 - b) }
            return reversed
        }
    }

    /// Transforms `size` values at `offset`, `offset + stride`, … of `re` and `im` in place.
    private func transform(_ re: inout [Double], _ im: inout [Double], offset: Int, stride: Int, inverse: Bool) {
        let n = size
        for i in 0..<n {
            let j = bitReversed[i]
            if j > i {
                re.swapAt(offset + i * stride, offset + j * stride)
                im.swapAt(offset + i * stride, offset + j * stride)
            }
        }
        let sign: Double = inverse ? 1 : -1
        var half = 1
        while half < n {
            let step = n / (2 * half)
            for start in Swift.stride(from: 0, to: n, by: 2 * half) {
                for k in 0..<half {
                    let wr = cosines[k * step], wi = sign * sines[k * step]
                    let a = offset + (start + k) * stride, b = offset + (start + k + half) * stride
                    let tr = wr * re[b] - wi * im[b]
                    let ti = wr * im[b] + wi * re[b]
                    re[b] = re[a] - tr
                    im[b] = im[a] - ti
                    re[a] += tr
                    im[a] += ti
                }
            }
            half *= 2
        }
        if inverse {
            for i in 0..<n {
                re[offset + i * stride] /= Double(n)
                im[offset + i * stride] /= Double(n)
            }
        }
    }

    /// The 1-D transform of `size` values.
    func transform(_ re: inout [Double], _ im: inout [Double], inverse: Bool = false) {
        precondition(re.count == size && im.count == size)
        transform(&re, &im, offset: 0, stride: 1, inverse: inverse)
    }

    /// The 2-D transform of a `size` × `size` grid stored row-major.
    func transform2D(_ re: inout [Double], _ im: inout [Double], inverse: Bool = false) {
        precondition(re.count == size * size && im.count == size * size)
        for row in 0..<size { transform(&re, &im, offset: row * size, stride: 1, inverse: inverse) }
        for col in 0..<size { transform(&re, &im, offset: col, stride: size, inverse: inverse) }
    }
}
