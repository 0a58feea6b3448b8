import Foundation
import ILIInference
import ILITensor

/// A cosmology-shaped simulator: a Gaussian random field on a periodic `gridSize` ×
/// `gridSize` grid whose power spectrum is a power law, observed through its binned power
/// spectrum, the summary cosmologists measure from maps.
///
/// θ = (A, n): P(k) = A (|k| / k_pivot)^(−n), with |k| in cycles per box and k_pivot = 8.
/// The field is white noise w ~ N(0, 1) per cell, shaped in Fourier space,
/// f = F⁻¹[√P(|k|) · F[w]] (P(0) = 0, so the field has zero mean). Its power spectrum is
/// measured back, P̂(k) = |F[f]_k|² / N² (N² cells), an unbiased estimate of P(|k|), and
/// averaged over the modes of each bin [b, b + 1) of |k|, b = 1 … `gridSize`/2 − 1. The data
/// x are the logarithms of those averages: 15 values for the default 32 × 32 grid. The low-k
/// bins hold a handful of modes and are noisy (cosmic variance); the high-k bins are sharp.
public struct PowerSpectrumSimulator: Simulator {
    public let gridSize: Int
    public static let pivot = 8.0
    private let fourier: FourierTransform
    /// For each cell of the grid, its |k| and the bin it falls in (nil outside every bin).
    private let wavenumbers: [Double]
    private let bins: [Int?]
    /// Modes per bin.
    public let modeCounts: [Int]

    public init(gridSize: Int = 32) {
        precondition(gridSize >= 8 && gridSize & (gridSize - 1) == 0, "the grid's side must be a power of two of at least 8")
        self.gridSize = gridSize
        fourier = FourierTransform(size: gridSize)
        let binCount = gridSize / 2 - 1
        var wavenumbers: [Double] = []
        var bins: [Int?] = []
        var counts = [Int](repeating: 0, count: binCount)
        for i in 0..<gridSize {
            for j in 0..<gridSize {
                let k = Self.magnitude(i, j, gridSize: gridSize)
                wavenumbers.append(k)
                let b = Int(k.rounded(.down)) - 1
                if k >= 1, b < binCount {
                    bins.append(b)
                    counts[b] += 1
                } else {
                    bins.append(nil)
                }
            }
        }
        self.wavenumbers = wavenumbers
        self.bins = bins
        modeCounts = counts
    }

    /// |k| of grid cell (i, j): frequencies above half the grid are the negative ones.
    static func magnitude(_ i: Int, _ j: Int, gridSize: Int) -> Double {
        let ki = Double(i < gridSize / 2 ? i : i - gridSize)
        let kj = Double(j < gridSize / 2 ? j : j - gridSize)
        return (ki * ki + kj * kj).squareRoot()
    }

    public var thetaDimension: Int { 2 }
    public var xDimension: Int { modeCounts.count }
    public static let prior = PriorSpecification.uniform(low: [0.5, 1.0], high: [2.0, 3.0])

    /// The model's power at |k|.
    public static func power(amplitude: Double, slope: Double, wavenumber k: Double) -> Double {
        k > 0 ? amplitude * pow(k / pivot, -slope) : 0
    }

    /// The expected power of each bin: P averaged over the bin's modes.
    public func expectedBinPower(amplitude: Double, slope: Double) -> [Double] {
        var sums = [Double](repeating: 0, count: modeCounts.count)
        for (cell, bin) in bins.enumerated() {
            if let bin { sums[bin] += Self.power(amplitude: amplitude, slope: slope, wavenumber: wavenumbers[cell]) }
        }
        return zip(sums, modeCounts).map { $0 / Double($1) }
    }

    /// One field drawn at (A, n): real and imaginary parts, row-major (the imaginary part is
    /// zero up to rounding, since the shaping keeps the transform's Hermitian symmetry).
    func field(amplitude: Double, slope: Double, rng: inout RandomSource) -> (re: [Double], im: [Double]) {
        let cells = gridSize * gridSize
        var re = (0..<cells).map { _ in rng.normal() }
        var im = [Double](repeating: 0, count: cells)
        fourier.transform2D(&re, &im)
        for cell in 0..<cells {
            let scale = Self.power(amplitude: amplitude, slope: slope, wavenumber: wavenumbers[cell]).squareRoot()
            re[cell] *= scale
            im[cell] *= scale
        }
        fourier.transform2D(&re, &im, inverse: true)
        return (re, im)
    }

    /// The binned power spectrum of a real field, each bin's mean of |F[f]_k|² / N².
    func binnedPower(of field: [Double]) -> [Double] {
        var re = field
        var im = [Double](repeating: 0, count: field.count)
        fourier.transform2D(&re, &im)
        var sums = [Double](repeating: 0, count: modeCounts.count)
        let cells = Double(field.count)
        for (cell, bin) in bins.enumerated() {
            if let bin { sums[bin] += (re[cell] * re[cell] + im[cell] * im[cell]) / cells }
        }
        return zip(sums, modeCounts).map { $0 / Double($1) }
    }

    public func simulate(_ theta: Matrix<Double>, rng: inout RandomSource) -> Matrix<Double> {
        precondition(theta.cols == 2, "the power-spectrum simulator takes θ = (amplitude, slope), got width \(theta.cols)")
        var out = Matrix<Double>(rows: theta.rows, cols: xDimension, repeating: 0)
        for i in 0..<theta.rows {
            let field = field(amplitude: theta[i, 0], slope: theta[i, 1], rng: &rng)
            for (b, power) in binnedPower(of: field.re).enumerated() { out[i, b] = log(power) }
        }
        return out
    }
}
