import ILIInference
import RealModule
import XCTest

/// The SBI benchmark's ODE tasks, Lotka–Volterra and SIR: the integrator against exact and
/// independent solutions, and the simulators against the benchmark's own observation 1.
///
/// The reference solutions below come from scipy 1.17's `solve_ivp` (DOP853, rtol 10⁻¹³,
/// atol 10⁻³⁰ for Lotka–Volterra and 10⁻⁹ people for SIR) on the untransformed ODEs, printed
/// by `Benchmarks/.venv/bin/python Benchmarks/sbibm/ode_fixtures.py`. Observation 1 and its
/// true θ are copied from sbibm 1.1.0's `tasks/<task>/files/num_observation_1/*.csv`.
final class ODETaskTests: XCTestCase {
    // MARK: The integrator

    func testDormandPrinceMatchesExactSolutions() throws {
        let solver = DormandPrince(relativeTolerance: 1e-11, absoluteTolerance: 1e-13)
        // y′ = −y: y(t) = e^{−t}.
        let decay = try XCTUnwrap(solver.solve(from: [1], at: 0, to: [0, 0.5, 3, 10]) { _, y, dy in dy[0] = -y[0] })
        for (state, t) in zip(decay, [0, 0.5, 3, 10.0]) {
            XCTAssertEqual(state[0], Double.exp(-t), accuracy: 2e-9 * Double.exp(-t))
        }
        // The harmonic oscillator over ten periods: (cos t, −sin t), a test of phase error.
        let times = [1.0, 2 * Double.pi, 20 * Double.pi + 1]
        let oscillator = try XCTUnwrap(solver.solve(from: [1, 0], at: 0, to: times) { _, y, dy in
            dy[0] = y[1]
            dy[1] = -y[0]
        })
        for (state, t) in zip(oscillator, times) {
            XCTAssertEqual(state[0], Double.cos(t), accuracy: 1e-8)
            XCTAssertEqual(state[1], -Double.sin(t), accuracy: 1e-8)
        }
        // A time-dependent right-hand side, y′ = 2t, from t₀ = 1: y = t² − 1.
        let ramp = try XCTUnwrap(solver.solve(from: [0], at: 1, to: [4]) { t, _, dy in dy[0] = 2 * t })
        XCTAssertEqual(ramp[0][0], 15, accuracy: 1e-9)
    }

    func testDormandPrinceGivesUpOnABlowUpInsteadOfLooping() {
        // y′ = y² from y(0) = 1 is 1/(1 − t): infinite at t = 1.
        let solver = DormandPrince(maxSteps: 10_000)
        XCTAssertNil(solver.solve(from: [1], at: 0, to: [2]) { _, y, dy in dy[0] = y[0] * y[0] })
    }

    // MARK: Lotka–Volterra

    /// θ and the noise-free populations (prey at t = 0, 2.1, …, 18.9, then predators) from scipy.
    static let lotkaVolterraReference: [(theta: [Double], populations: [Double])] = [
        ([0.6859157, 0.10761319, 0.88789904, 0.116794825],   // observation 1's true θ
         [30, 1.22653885637, 0.286168928957, 0.741186701312, 2.85845309923, 11.7187750939, 37.4439517062,
          0.439927074978, 0.349079625398, 1.11028230004,
          1, 26.8136946697, 4.62617042874, 0.800140217489, 0.181450441455, 0.13102432348, 8.01889043195,
          15.8607860556, 2.65275221156, 0.480261581059]),
        ([2.4, 0.02, 0.3, 0.1],                               // prey crash to 10⁻¹⁶, predators decay
         [30, 2.014206211e-06, 1.56206514353e-13, 2.6905406853e-16, 9.57005279236e-17, 5.81974769337e-16,
          1.60521950793e-14, 9.90571937367e-13, 9.38634081005e-11, 1.1176516871e-08,
          1, 687.160978852, 365.976310031, 194.915982086, 103.810653944, 55.2887031477, 29.4463099848,
          15.6828632678, 8.35256439278, 4.44850731512]),
        ([0.5, 0.12, 2.2, 0.01],                              // sharp predator spikes
         [30, 80.3947334745, 229.100073034, 648.459453506, 28.2554351467, 45.5728849589, 128.569538618,
          366.774460531, 500.249697958, 27.8205575157,
          1, 0.0283648825938, 0.00550715270606, 0.2643909706, 9.36995184516, 0.178082038735,
          0.00937641267459, 0.0109161742546, 27.1578112515, 1.50659333817]),
    ]

    func testLotkaVolterraPopulationsMatchAnIndependentSolver() throws {
        let task = LotkaVolterra()
        for (theta, reference) in Self.lotkaVolterraReference {
            let populations = try XCTUnwrap(task.populations(theta))
            XCTAssertEqual(populations.count, 20)
            // Relative error, i.e. error in log space, where the noise has scale 0.1: the
            // largest seen is 9e-9, on the prey at 1e-16 (log u = −37 takes the tolerance
            // 1e-10 relative to 37).
            for (ours, theirs) in zip(populations, reference) {
                XCTAssertEqual(Double.log(ours), Double.log(theirs), accuracy: 3e-8, "θ = \(theta)")
            }
        }
    }

    func testLotkaVolterraAtObservationOnesTrueParametersExplainsTheObservation() {
        let task = LotkaVolterra()
        let observation = [31.783262, 1.1971166, 0.29703617, 0.71145046, 2.9415865, 11.482614, 36.09036, 0.46229604,
                           0.38081983, 0.9173736, 0.8910395, 27.039942, 4.356176, 0.78444487, 0.17100818, 0.1325878,
                           8.727008, 16.97251, 2.7902339, 0.47567415]
        let clean = task.populations(Self.lotkaVolterraReference[0].theta)!
        // The observation's log-residuals are 20 draws of N(0, 0.1²).
        let z = zip(observation, clean).map { Double.log($0 / $1) / LotkaVolterra.noiseScale }
        XCTAssertLessThan(z.map(Swift.abs).max()!, 3.5, "\(z)")
        // χ² with 20 degrees of freedom: its 0.1% and 99.9% quantiles are 6.0 and 45.3.
        let chiSquared = z.map { $0 * $0 }.reduce(0, +)
        XCTAssertGreaterThan(chiSquared, 6.0)
        XCTAssertLessThan(chiSquared, 45.3)
    }

    func testLotkaVolterraNoiseIsLogNormalAroundTheClampedPopulations() {
        let task = LotkaVolterra()
        let theta = Self.lotkaVolterraReference[1].theta
        let clean = task.populations(theta)!
        let draws = 4000
        var rng = RandomSource(seed: 11)
        let x = task.simulate(Matrix(rows: draws, cols: 4) { _, j in theta[j] }, rng: &rng)
        for j in 0..<20 {
            // Below 10⁻¹⁰ the population is clamped there before the noise.
            let centre = Double.log(Swift.max(clean[j], 1e-10))
            let residuals = (0..<draws).map { Double.log(x[$0, j]) - centre }
            let mean = residuals.reduce(0, +) / Double(draws)
            let sd = (residuals.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(draws - 1)).squareRoot()
            // Standard errors: 0.1/√4000 = 0.0016 for the mean, 0.1/√8000 = 0.0011 for the sd.
            XCTAssertEqual(mean, 0, accuracy: 0.0065, "column \(j)")
            XCTAssertEqual(sd, 0.1, accuracy: 0.0045, "column \(j)")
        }
    }

    func testLotkaVolterraIsSeededAndMarksFailedSolvesWithNaN() {
        let theta = Matrix<Double>([Self.lotkaVolterraReference[0].theta, Self.lotkaVolterraReference[2].theta])
        var a = RandomSource(seed: 5), b = RandomSource(seed: 5)
        XCTAssertEqual(LotkaVolterra().simulate(theta, rng: &a).storage, LotkaVolterra().simulate(theta, rng: &b).storage)
        // A solver held to three steps cannot reach t = 18.9: the row is NaN, as in the benchmark.
        var starved = LotkaVolterra()
        starved.solver.maxSteps = 3
        var rng = RandomSource(seed: 5)
        XCTAssertTrue(starved.simulate(theta, rng: &rng).storage.allSatisfy(\.isNaN))
    }

    func testLotkaVolterraPriorIsTheBenchmarksLogNormal() {
        var rng = RandomSource(seed: 3)
        let theta = LotkaVolterra().prior.sample(20_000, rng: &rng)
        for (j, (mean, sd)) in [(-0.125, 0.5), (-3, 0.5), (-0.125, 0.5), (-3, 0.5)].enumerated() {
            let logs = (0..<theta.rows).map { Double.log(theta[$0, j]) }
            let m = logs.reduce(0, +) / Double(logs.count)
            let s = (logs.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(logs.count - 1)).squareRoot()
            XCTAssertEqual(m, mean, accuracy: 0.015)
            XCTAssertEqual(s, sd, accuracy: 0.015)
        }
    }

    // MARK: SIR

    /// θ = (β, γ) and the noise-free number infected on days 0, 17, …, 153, from scipy.
    static let sirReference: [(theta: [Double], infected: [Double])] = [
        ([0.61479264, 0.19172086],                            // observation 1's true θ
         [1, 1325.33942163, 321078.924697, 46177.7389026, 2994.15387971, 188.521152953, 11.8488247524,
          0.744632770762, 0.0467957038586, 0.00294082803639]),
        ([0.25, 0.18],                                        // a slow epidemic, still growing
         [1, 3.28702123985, 10.803787833, 35.5021257513, 116.57886672, 381.908092148, 1241.49296199,
          3936.59779878, 11559.0590601, 27514.9538932]),
        ([1.6, 0.09],                                         // a fast one, half infected by day 17
         [1, 496618.021275, 107567.958417, 23292.3349451, 5043.62453012, 1092.12519499, 236.484181456,
          51.2072865902, 11.0882097132, 2.40099413172]),
    ]

    func testSIRInfectedMatchAnIndependentSolver() throws {
        let task = SIREpidemic()
        for (theta, reference) in Self.sirReference {
            let infected = try XCTUnwrap(task.infected(theta))
            // Relative; the largest seen is 2e-8, on the last days' tail of a few
            // thousandths of a person, where the binomial's p is 10⁻⁹.
            for (ours, theirs) in zip(infected, reference) {
                XCTAssertEqual(ours, theirs, accuracy: 1e-7 * theirs, "θ = \(theta)")
            }
        }
    }

    func testSIRAtObservationOnesTrueParametersExplainsTheObservation() {
        let observation: [Double] = [0, 1, 352, 40, 3, 0, 0, 0, 0, 0]
        let infected = SIREpidemic().infected(Self.sirReference[0].theta)!
        for (count, people) in zip(observation, infected) {
            let p = people / SIREpidemic.population
            let n = Double(SIREpidemic.trials)
            // Binomial(1000, p): within 4 standard deviations, with a floor of one count for
            // the days when hardly anyone is infected.
            let sd = Swift.max((n * p * (1 - p)).squareRoot(), 1)
            XCTAssertEqual(count, n * p, accuracy: 4 * sd, "I = \(people)")
        }
    }

    func testSIRCountsAreBinomial() {
        let task = SIREpidemic()
        let theta = Self.sirReference[1].theta
        let p = Self.sirReference[1].infected.map { $0 / SIREpidemic.population }
        let draws = 4000
        var rng = RandomSource(seed: 12)
        let x = task.simulate(Matrix(rows: draws, cols: 2) { _, j in theta[j] }, rng: &rng)
        let n = Double(SIREpidemic.trials)
        for j in [0, 5, 7, 8, 9] {
            let counts = (0..<draws).map { x[$0, j] }
            XCTAssertTrue(counts.allSatisfy { $0 >= 0 && $0 <= n && $0 == $0.rounded() })
            let mean = counts.reduce(0, +) / Double(draws)
            let variance = counts.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(draws - 1)
            let expectedVariance = n * p[j] * (1 - p[j])
            // Standard error of the mean is √(variance/4000); of the variance about
            // variance·√(2/4000) = 2.2% (more for the nearly-zero p of day 0).
            XCTAssertEqual(mean, n * p[j], accuracy: 5 * Swift.max((expectedVariance / Double(draws)).squareRoot(), 0.003), "day \(17 * j)")
            if j > 0 { XCTAssertEqual(variance, expectedVariance, accuracy: 0.12 * expectedVariance, "day \(17 * j)") }
        }
    }

    func testSIRPriorIsTheBenchmarksLogNormal() {
        var rng = RandomSource(seed: 4)
        let theta = SIREpidemic().prior.sample(20_000, rng: &rng)
        for (j, (mean, sd)) in [(Double.log(0.4), 0.5), (Double.log(0.125), 0.2)].enumerated() {
            let logs = (0..<theta.rows).map { Double.log(theta[$0, j]) }
            let m = logs.reduce(0, +) / Double(logs.count)
            let s = (logs.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(logs.count - 1)).squareRoot()
            XCTAssertEqual(m, mean, accuracy: 0.015)
            XCTAssertEqual(s, sd, accuracy: 0.01)
        }
    }
}
