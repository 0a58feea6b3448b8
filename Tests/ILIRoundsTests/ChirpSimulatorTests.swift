import Foundation
import ILIInference
@testable import ILIRounds
import ILITensor
import XCTest

/// The gravitational-wave chirp simulator: its waveform's frequency evolution and the
/// statistics of its noise.
final class ChirpSimulatorTests: XCTestCase {
    let simulator = ChirpSimulator()

    /// Sign changes of a series.
    func zeroCrossings(_ values: ArraySlice<Double>) -> Int {
        zip(values, values.dropFirst()).filter { ($0 < 0) != ($1 < 0) }.count
    }

    func testTheNoiseAroundTheWaveformIsUnitGaussian() {
        let (m, q) = (1.1, 0.6)
        let signal = simulator.signal(chirpMass: m, massRatio: q)
        var residuals: [Double] = []
        var rng = RandomSource(seed: 3)
        let x = simulator.simulate(Matrix(rows: 40, cols: 2) { _, j in j == 0 ? m : q }, rng: &rng)
        for i in 0..<x.rows { residuals += zip(x.row(i), signal).map { $0 - $1 } }
        let n = Double(residuals.count)
        let mean = residuals.reduce(0, +) / n
        let variance = residuals.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / (n - 1)
        XCTAssertEqual(mean, 0, accuracy: 4 / n.squareRoot())
        XCTAssertEqual(variance, 1, accuracy: 4 * (2 / n).squareRoot())
        // Neighbouring samples are independent: white noise.
        let lagged = zip(residuals, residuals.dropFirst()).map { ($0 - mean) * ($1 - mean) }.reduce(0, +) / (n - 1)
        XCTAssertEqual(lagged / variance, 0, accuracy: 4 / n.squareRoot())
    }

    func testItChirpsFasterForLighterBinariesAndTheCrossingsFollowThePhase() {
        let quarter = simulator.sampleCount / 4
        for (m, q) in [(0.5, 0.25), (1.0, 0.6), (1.5, 1.0)] {
            let signal = simulator.signal(chirpMass: m, massRatio: q)
            XCTAssertGreaterThan(zeroCrossings(signal[(3 * quarter)...]), zeroCrossings(signal[..<quarter]) + 4,
                                 "m \(m), q \(q): the frequency rises towards coalescence")
            // A cosine crosses zero twice per cycle: the count follows the phase's total change.
            let start = simulator.timeToCoalescence(0), end = simulator.timeToCoalescence(simulator.sampleCount - 1)
            let turns = (ChirpSimulator.phase(chirpMass: m, massRatio: q, timeToCoalescence: end)
                - ChirpSimulator.phase(chirpMass: m, massRatio: q, timeToCoalescence: start)) / .pi
            XCTAssertEqual(Double(zeroCrossings(signal[...])), turns, accuracy: 2, "m \(m), q \(q)")
        }
        let light = zeroCrossings(simulator.signal(chirpMass: 0.6, massRatio: 0.8)[...])
        let heavy = zeroCrossings(simulator.signal(chirpMass: 1.4, massRatio: 0.8)[...])
        // The frequency scales as 𝓜^(−5/8): (1.4 / 0.6)^(5/8) ≈ 1.7 times as many cycles.
        XCTAssertEqual(Double(light) / Double(heavy), pow(1.4 / 0.6, 0.625), accuracy: 0.15)
    }

    func testTheFrequencyStaysBelowNyquistAndRisesOverThePrior() {
        let n = simulator.sampleCount
        var highest = 0.0
        for m in stride(from: 0.5, through: 1.5, by: 0.1) {
            for q in stride(from: 0.25, through: 1.0, by: 0.05) {
                let phases = (0..<n).map { ChirpSimulator.phase(chirpMass: m, massRatio: q, timeToCoalescence: simulator.timeToCoalescence($0)) }
                let frequencies = zip(phases, phases.dropFirst()).map { ($1 - $0) * Double(n) / (2 * .pi) }
                XCTAssertTrue(zip(frequencies, frequencies.dropFirst()).allSatisfy { $0 < $1 }, "m \(m), q \(q): a chirp")
                highest = max(highest, frequencies.max()!)
            }
        }
        XCTAssertLessThan(highest, 75)
        XCTAssertGreaterThan(highest, 50)
    }

    func testTheMassRatioActsThroughTheSymmetricMassRatio() {
        // q and 1/q are the same binary: η = q / (1 + q)² is the same.
        for tau in [1.0, 0.3, 0.06] {
            XCTAssertEqual(ChirpSimulator.phase(chirpMass: 1, massRatio: 0.5, timeToCoalescence: tau),
                           ChirpSimulator.phase(chirpMass: 1, massRatio: 2, timeToCoalescence: tau), accuracy: 1e-9)
        }
        // The mass ratio moves the waveform, but a small shift of the chirp mass undoes most
        // of it (the two are degenerate, as in real detections), while no mass ratio undoes a
        // change of the chirp mass.
        let reference = simulator.signal(chirpMass: 1, massRatio: 1)
        func distance(_ m: Double, _ q: Double) -> Double {
            zip(reference, simulator.signal(chirpMass: m, massRatio: q)).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
        }
        let byMassRatio = distance(1, 0.25)
        XCTAssertGreaterThan(byMassRatio, 10)
        let undone = stride(from: 0.9, through: 1.1, by: 0.001).map { distance($0, 0.25) }.min()!
        XCTAssertLessThan(undone, 0.25 * byMassRatio)
        let heavier = stride(from: 0.25, through: 1.0, by: 0.01).map { distance(1.2, $0) }.min()!
        XCTAssertGreaterThan(heavier, byMassRatio)
    }

    func testTheBuiltInSimulatorIsSeededPerTask() throws {
        let builtIn = try XCTUnwrap(BuiltInSimulator.named("gw_chirp"))
        XCTAssertEqual(builtIn.defaultPrior, .uniform(low: [0.5, 0.25], high: [1.5, 1.0]))
        let theta = Matrix([[1.0, 0.5], [0.7, 0.9]])
        let all = builtIn.simulate(theta, seeds: [21, 22])
        XCTAssertEqual(all.cols, 256)
        XCTAssertEqual(builtIn.simulate(theta.rows(at: [1]), seeds: [22]).row(0), all.row(1))
        XCTAssertNotEqual(builtIn.simulate(theta.rows(at: [1]), seeds: [23]).row(0), all.row(1))
    }
}
