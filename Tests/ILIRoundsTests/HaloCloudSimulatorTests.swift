import Foundation
import ILIInference
@testable import ILIRounds
import ILITensor
import XCTest

/// The halo-cloud simulator: its padded-set layout, and that each parameter does what the
/// model says (the count and mass slope follow A, the clumping follows r).
final class HaloCloudSimulatorTests: XCTestCase {
    let simulator = HaloCloudSimulator()
    let layout = HaloCloudSimulator.layout

    /// The halos (x, y, z, log₁₀ M) of each row, read back through the presence flags.
    func clouds(amplitude: Double, radius: Double, count: Int, seed: UInt64) -> [[[Double]]] {
        var rng = RandomSource(seed: seed)
        let theta = Matrix<Double>(rows: count, cols: 2) { _, j in j == 0 ? amplitude : radius }
        let x = simulator.simulate(theta, rng: &rng)
        return (0..<count).map { i in
            (0..<layout.maxPoints).compactMap { slot in
                let flag = layout.flagColumn(slot)
                return x[i, flag] == 1 ? Array(x.row(i)[(flag + 1)...(flag + 4)]) : nil
            }
        }
    }

    func testRowsAreFlaggedHalosFirstThenZeroedEmptySlots() {
        var rng = RandomSource(seed: 1)
        let x = simulator.simulate(Matrix([[1.0, 0.1], [0.5, 0.02], [1.5, 0.2]]), rng: &rng)
        XCTAssertEqual(x.cols, 320)
        for i in 0..<x.rows {
            let flags = (0..<layout.maxPoints).map { x[i, layout.flagColumn($0)] }
            let count = flags.filter { $0 == 1 }.count
            XCTAssertTrue(count > 0 && count < layout.maxPoints, "row \(i): \(count) halos")
            XCTAssertEqual(flags, Array(repeating: 1, count: count) + Array(repeating: 0, count: layout.maxPoints - count))
            for slot in 0..<layout.maxPoints {
                let values = Array(x.row(i)[(layout.flagColumn(slot) + 1)...(layout.flagColumn(slot) + 4)])
                if slot >= count {
                    XCTAssertEqual(values, [0, 0, 0, 0], "row \(i) slot \(slot) is empty")
                } else {
                    XCTAssertTrue(values[0...2].allSatisfy { $0 >= 0 && $0 <= 1 }, "positions in the unit box: \(values)")
                    XCTAssertGreaterThanOrEqual(values[3], 0, "masses from 10¹² M☉ up")
                }
            }
        }
    }

    /// N ~ Poisson(30 A): mean and variance 30 A over many clouds.
    func testTheCountIsPoissonWithMeanThirtyTimesTheAmplitude() {
        for amplitude in [0.5, 1.2] {
            let counts = clouds(amplitude: amplitude, radius: 0.1, count: 4000, seed: 2).map { Double($0.count) }
            let mean = counts.reduce(0, +) / Double(counts.count)
            let variance = counts.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(counts.count - 1)
            let expected = 30 * amplitude
            XCTAssertEqual(mean, expected, accuracy: 4 * (expected / 4000).squareRoot(), "A = \(amplitude)")
            XCTAssertEqual(variance, expected, accuracy: 0.1 * expected, "A = \(amplitude)")
        }
        // At most 64 halos, even far above the prior.
        XCTAssertEqual(clouds(amplitude: 5, radius: 0.1, count: 20, seed: 3).map(\.count).max(), 64)
    }

    /// The maximum-likelihood slope of a Pareto sample, α̂ = 1 + n / Σ ln M, recovers 2.5 − A/2.
    func testTheMassFunctionSlopeFollowsTheAmplitude() {
        for amplitude in [0.5, 1.5] {
            let logMasses = clouds(amplitude: amplitude, radius: 0.1, count: 1500, seed: 4).flatMap { $0.map { $0[3] * log(10) } }
            let slope = 1 + Double(logMasses.count) / logMasses.reduce(0, +)
            XCTAssertEqual(slope, HaloCloudSimulator.massSlope(amplitude: amplitude), accuracy: 0.03, "A = \(amplitude)")
        }
    }

    /// The mean distance from a halo to its nearest neighbour grows with the cluster radius.
    func testHalosClumpMoreTightlyAtSmallerRadii() {
        func meanNearestNeighbour(_ radius: Double) -> Double {
            let all = clouds(amplitude: 1, radius: radius, count: 200, seed: 5)
            var total = 0.0, n = 0
            for halos in all where halos.count > 1 {
                for (i, a) in halos.enumerated() {
                    var best = Double.infinity
                    for (j, b) in halos.enumerated() where j != i {
                        best = min(best, ((0..<3).map { (a[$0] - b[$0]) * (a[$0] - b[$0]) }.reduce(0, +)).squareRoot())
                    }
                    total += best
                    n += 1
                }
            }
            return total / Double(n)
        }
        let distances = [0.02, 0.08, 0.2].map(meanNearestNeighbour)
        XCTAssertLessThan(distances[0] * 2, distances[1], "\(distances)")
        XCTAssertLessThan(distances[1] * 1.5, distances[2], "\(distances)")
    }

    func testReflectionKeepsValuesInTheUnitInterval() {
        for (value, expected) in [(0.3, 0.3), (-0.2, 0.2), (1.1, 0.9), (2.3, 0.3), (-1.4, 0.6)] {
            XCTAssertEqual(HaloCloudSimulator.reflectedIntoUnitInterval(value), expected, accuracy: 1e-12, "\(value)")
        }
    }

    func testTheBuiltInSimulatorIsSeededPerTask() throws {
        XCTAssertTrue(BuiltInSimulator.names.contains("halo_cloud"))
        let builtIn = try XCTUnwrap(BuiltInSimulator.named("halo_cloud"))
        XCTAssertEqual(builtIn.defaultPrior, .uniform(low: [0.5, 0.02], high: [1.5, 0.2]))
        let theta = Matrix([[1.0, 0.1], [1.4, 0.05], [0.6, 0.18]])
        let all = builtIn.simulate(theta, seeds: [11, 12, 13])
        XCTAssertEqual(all.cols, 320)
        XCTAssertTrue(all.storage.allSatisfy(\.isFinite))
        // A simulation depends on its own seed, not on the batch it shares.
        XCTAssertEqual(builtIn.simulate(theta.rows(at: [1]), seeds: [12]).row(0), all.row(1))
        XCTAssertNotEqual(builtIn.simulate(theta.rows(at: [1]), seeds: [14]).row(0), all.row(1))
    }
}
