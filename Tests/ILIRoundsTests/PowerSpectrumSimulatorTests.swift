import Foundation
import ILIInference
@testable import ILIRounds
import ILITensor
import XCTest

/// The power-spectrum simulator: its Fourier transform, the field it draws and the
/// statistics of the binned spectrum it reports.
final class PowerSpectrumSimulatorTests: XCTestCase {
    /// X_k = Σ_n x_n e^(−2πi kn/N), summed directly.
    func directTransform(_ re: [Double], _ im: [Double]) -> (re: [Double], im: [Double]) {
        let n = re.count
        var outRe = [Double](repeating: 0, count: n), outIm = [Double](repeating: 0, count: n)
        for k in 0..<n {
            for j in 0..<n {
                let angle = -2 * Double.pi * Double(k * j) / Double(n)
                outRe[k] += re[j] * cos(angle) - im[j] * sin(angle)
                outIm[k] += re[j] * sin(angle) + im[j] * cos(angle)
            }
        }
        return (outRe, outIm)
    }

    func testTheFourierTransformIsTheDirectSumAndTheInverseUndoesIt() {
        var rng = RandomSource(seed: 1)
        for size in [1, 2, 8, 32] {
            let re = (0..<size).map { _ in rng.normal() }, im = (0..<size).map { _ in rng.normal() }
            var (fastRe, fastIm) = (re, im)
            let fourier = FourierTransform(size: size)
            fourier.transform(&fastRe, &fastIm)
            let direct = directTransform(re, im)
            for k in 0..<size {
                XCTAssertEqual(fastRe[k], direct.re[k], accuracy: 1e-9, "size \(size), k \(k)")
                XCTAssertEqual(fastIm[k], direct.im[k], accuracy: 1e-9, "size \(size), k \(k)")
            }
            fourier.transform(&fastRe, &fastIm, inverse: true)
            for k in 0..<size {
                XCTAssertEqual(fastRe[k], re[k], accuracy: 1e-12)
                XCTAssertEqual(fastIm[k], im[k], accuracy: 1e-12)
            }
        }
        // 2-D: rows then columns, against the direct double sum on an 8 × 8 grid.
        let size = 8
        let re = (0..<size * size).map { _ in rng.normal() }
        var (fastRe, fastIm) = (re, [Double](repeating: 0, count: size * size))
        FourierTransform(size: size).transform2D(&fastRe, &fastIm)
        for (u, v) in [(0, 0), (1, 3), (5, 2), (7, 7)] {
            var sumRe = 0.0, sumIm = 0.0
            for i in 0..<size {
                for j in 0..<size {
                    let angle = -2 * Double.pi * Double(u * i + v * j) / Double(size)
                    sumRe += re[i * size + j] * cos(angle)
                    sumIm += re[i * size + j] * sin(angle)
                }
            }
            XCTAssertEqual(fastRe[u * size + v], sumRe, accuracy: 1e-9)
            XCTAssertEqual(fastIm[u * size + v], sumIm, accuracy: 1e-9)
        }
    }

    func testTheBinsCoverTheRingsOfTheGrid() {
        let simulator = PowerSpectrumSimulator()
        XCTAssertEqual(simulator.xDimension, 15)
        // The ring 1 ≤ |k| < 2 of a 32 × 32 grid: (±1, 0), (0, ±1), (±1, ±1).
        XCTAssertEqual(simulator.modeCounts.first, 8)
        // Rings hold about 2π k modes.
        for (b, count) in simulator.modeCounts.enumerated() {
            let expected = Double.pi * (Double((b + 2) * (b + 2)) - Double((b + 1) * (b + 1)))
            XCTAssertEqual(Double(count), expected, accuracy: 0.25 * expected + 4, "bin \(b)")
        }
    }

    func testTheFieldIsRealWithZeroMeanAndItsBinnedPowerIsUnbiased() {
        let simulator = PowerSpectrumSimulator()
        let (amplitude, slope) = (1.3, 2.2)
        let expected = simulator.expectedBinPower(amplitude: amplitude, slope: slope)
        let draws = 1_500
        var sums = [Double](repeating: 0, count: expected.count), squares = sums
        for d in 0..<draws {
            var rng = RandomSource(seed: UInt64(d))
            let field = simulator.field(amplitude: amplitude, slope: slope, rng: &rng)
            if d < 20 {
                XCTAssertLessThan(field.im.map(abs).max()!, 1e-9, "the shaping keeps the field real")
                XCTAssertEqual(field.re.reduce(0, +) / Double(field.re.count), 0, accuracy: 1e-9, "P(0) = 0: no mean")
            }
            for (b, power) in simulator.binnedPower(of: field.re).enumerated() {
                sums[b] += power
                squares[b] += power * power
            }
        }
        for b in 0..<expected.count {
            let mean = sums[b] / Double(draws)
            let standardError = ((squares[b] / Double(draws) - mean * mean) / Double(draws)).squareRoot()
            XCTAssertEqual(mean, expected[b], accuracy: 4 * standardError, "bin \(b): the measured power estimates P")
        }
        // Each bin averages about count/2 independent exponential |F_k|² (a Hermitian field's
        // modes come in equal pairs), so its relative spread is about √(2/count): large at
        // low k (cosmic variance), small at high k.
        let low = (squares[0] / Double(draws) - pow(sums[0] / Double(draws), 2)).squareRoot() / (sums[0] / Double(draws))
        XCTAssertEqual(low, (2.0 / Double(simulator.modeCounts[0])).squareRoot(), accuracy: 0.1)
        let last = expected.count - 1
        let high = (squares[last] / Double(draws) - pow(sums[last] / Double(draws), 2)).squareRoot() / (sums[last] / Double(draws))
        XCTAssertLessThan(high, 0.25)
    }

    func testTheAmplitudeShiftsEveryBinByItsLogarithmAndTheSlopeTiltsTheSpectrum() {
        let simulator = PowerSpectrumSimulator()
        func x(_ amplitude: Double, _ slope: Double, seed: UInt64 = 5) -> [Double] {
            var rng = RandomSource(seed: seed)
            return simulator.simulate(Matrix([[amplitude, slope]]), rng: &rng).row(0)
        }
        // Same noise: doubling A adds log 2 to every bin.
        for (a, b) in zip(x(0.7, 1.8), x(1.4, 1.8)) { XCTAssertEqual(b - a, log(2), accuracy: 1e-9) }
        // Same noise: the slope tilts log P by −Δn log(k / k_pivot), up to the bins' mixing of
        // wavenumbers: the steeper spectrum is higher below the pivot and lower above it.
        let shallow = x(1, 1.2), steep = x(1, 2.8)
        XCTAssertGreaterThan(steep[0] - shallow[0], 1.6 * log(8.0 / 1.6))
        XCTAssertLessThan(steep[14] - shallow[14], -1.6 * log(15.5 / 8.0) * 0.8)
    }

    func testTheBuiltInSimulatorIsSeededPerTask() throws {
        let builtIn = try XCTUnwrap(BuiltInSimulator.named("power_spectrum"))
        XCTAssertEqual(builtIn.defaultPrior, .uniform(low: [0.5, 1.0], high: [2.0, 3.0]))
        let theta = Matrix([[1.0, 2.0], [1.5, 1.5], [0.6, 2.9]])
        let all = builtIn.simulate(theta, seeds: [11, 12, 13])
        XCTAssertEqual(all.cols, 15)
        XCTAssertTrue(all.storage.allSatisfy(\.isFinite))
        // A simulation depends on its own seed, not on the batch it shares.
        XCTAssertEqual(builtIn.simulate(theta.rows(at: [1]), seeds: [12]).row(0), all.row(1))
        XCTAssertNotEqual(builtIn.simulate(theta.rows(at: [1]), seeds: [14]).row(0), all.row(1))
    }
}
