import Foundation
@testable import ILIInference
import XCTest

/// The MCMC layer against targets whose moments are known: a correlated Gaussian, a
/// banana, several groups at once, and a density on a bounded support.
///
/// Tolerances follow from the Monte Carlo error: the standard error of a mean is σ/√ESS,
/// and of a covariance about √((Σ_jj Σ_kk + Σ_jk²)/ESS), with ESS the bulk effective sample
/// size the diagnostics report (the second moments of a chain mix about as fast as its
/// bulk, within a factor the wider covariance bound absorbs). Every test is seeded.
final class SamplingTests: XCTestCase {
    // MARK: - Targets

    /// A multivariate normal log-density (unnormalised), evaluated row by row.
    struct Gaussian {
        let mean: [Double]
        let covariance: [[Double]]
        let precision: [[Double]]

        init(mean: [Double], covariance: [[Double]]) {
            self.mean = mean
            self.covariance = covariance
            precision = inverse(covariance)
        }

        /// Standard deviations `scales`, correlation ρ^|i−j| between coordinates i and j.
        init(mean: [Double], scales: [Double], correlation rho: Double) {
            let d = mean.count
            self.init(mean: mean, covariance: (0..<d).map { i in
                (0..<d).map { j in scales[i] * scales[j] * pow(rho, Double(abs(i - j))) }
            })
        }

        func logDensity(_ x: Matrix<Double>, row i: Int) -> Double {
            let d = mean.count
            var q = 0.0
            for a in 0..<d {
                for b in 0..<d { q += (x[i, a] - mean[a]) * precision[a][b] * (x[i, b] - mean[b]) }
            }
            return -0.5 * q
        }

        var target: BatchedLogDensity {
            { x in (0..<x.rows).map { logDensity(x, row: $0) } }
        }
    }

    /// x1 ~ N(0, 1), x2 | x1 ~ N(b(x1² − 1), 1): mean 0, Var x1 = 1, Var x2 = 1 + 2b², Cov = 0.
    static func banana(_ b: Double) -> BatchedLogDensity {
        { x in
            (0..<x.rows).map { i in
                let r = x[i, 1] - b * (x[i, 0] * x[i, 0] - 1)
                return -0.5 * x[i, 0] * x[i, 0] - 0.5 * r * r
            }
        }
    }

    /// `rows` starting points spread N(0, spread²) around zero.
    static func starts(_ rows: Int, _ d: Int, spread: Double, seed: UInt64) -> Matrix<Double> {
        var rng = RandomSource(seed: seed)
        return Matrix(rows: rows, cols: d) { _, _ in spread * rng.normal() }
    }

    static func settings(_ kind: SamplerKind, chains: Int = 20, warmup: Int = 200, thin: Int = 1) -> SamplerSettings {
        var s = SamplerSettings()
        s.kind = kind
        s.chains = chains
        s.warmup = warmup
        s.thin = thin
        return s
    }

    // MARK: - Moment checks

    static func mean(_ x: Matrix<Double>, _ j: Int) -> Double {
        (0..<x.rows).map { x[$0, j] }.reduce(0, +) / Double(x.rows)
    }

    static func covariance(_ x: Matrix<Double>, _ a: Int, _ b: Int) -> Double {
        let ma = mean(x, a), mb = mean(x, b)
        return (0..<x.rows).map { (x[$0, a] - ma) * (x[$0, b] - mb) }.reduce(0, +) / Double(x.rows - 1)
    }

    /// Means within 4.5 standard errors and covariances within 6, with standard errors from
    /// the reported bulk ESS (the larger factor for covariances allows for their ESS being
    /// somewhat lower than the bulk's).
    func assertMoments(_ x: Matrix<Double>, ess: [Double], mean mu: [Double], covariance sigma: [[Double]],
                       _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        let d = mu.count
        for j in 0..<d {
            let se = (sigma[j][j] / ess[j]).squareRoot()
            XCTAssertEqual(Self.mean(x, j), mu[j], accuracy: 4.5 * se, "\(label): mean \(j) (ESS \(Int(ess[j])))", file: file, line: line)
            for k in j..<d {
                let n = min(ess[j], ess[k])
                let se = ((sigma[j][j] * sigma[k][k] + sigma[j][k] * sigma[j][k]) / n).squareRoot()
                XCTAssertEqual(Self.covariance(x, j, k), sigma[j][k], accuracy: 6 * se,
                               "\(label): covariance \(j),\(k) (ESS \(Int(n)))", file: file, line: line)
            }
        }
    }

    // MARK: - Slice and ensemble samplers

    /// Correlations 0.9, 0.81, 0.73, 0.66 (ρ^|i−j|), scales 0.5 to 3, starts spread over
    /// several standard deviations. Coordinate-wise updates mix slowly along the long axis
    /// (bulk ESS about 3% of the draws), hence 3,000 steps per chain.
    func testSliceSamplerMatchesACorrelated5DGaussian() throws {
        let g = Gaussian(mean: [1, -2, 0.5, 3, 0], scales: [1, 2, 0.5, 3, 1.5], correlation: 0.9)
        var rng = RandomSource(seed: 11)
        let run = try runMCMC(Self.settings(.slice), target: g.target, initial: Self.starts(20, 5, spread: 3, seed: 1),
                              groups: 1, count: 60_000, rng: &rng)
        let diagnostics = try XCTUnwrap(run.diagnostics[0])
        print("slice 5-D Gaussian: R-hat \(diagnostics.rHat), ESS \(diagnostics.bulkEffectiveSampleSize), calls \(run.targetCalls), rows \(run.evaluatedRows)")
        XCTAssertEqual(run.samples[0].rows, 60_000)
        XCTAssertLessThan(diagnostics.rHat.max()!, 1.01)
        assertMoments(run.samples[0], ess: diagnostics.bulkEffectiveSampleSize, mean: g.mean, covariance: g.covariance, "slice")
    }

    /// The same target: the stretch move is indifferent to the correlation but its walkers
    /// move slowly in 5-D (bulk ESS under 2% of the draws), hence 40 walkers and 5,000 steps.
    func testEnsembleSamplerMatchesACorrelated5DGaussian() throws {
        let g = Gaussian(mean: [1, -2, 0.5, 3, 0], scales: [1, 2, 0.5, 3, 1.5], correlation: 0.9)
        var rng = RandomSource(seed: 12)
        let run = try runMCMC(Self.settings(.ensemble, chains: 40, warmup: 500), target: g.target,
                              initial: Self.starts(40, 5, spread: 3, seed: 2), groups: 1, count: 200_000, rng: &rng)
        let diagnostics = try XCTUnwrap(run.diagnostics[0])
        print("ensemble 5-D Gaussian: R-hat \(diagnostics.rHat), ESS \(diagnostics.bulkEffectiveSampleSize), calls \(run.targetCalls)")
        XCTAssertLessThan(diagnostics.rHat.max()!, 1.02)
        assertMoments(run.samples[0], ess: diagnostics.bulkEffectiveSampleSize, mean: g.mean, covariance: g.covariance, "ensemble")
    }

    func testBothSamplersMatchABanana() throws {
        let b = 0.8
        let covariance = [[1.0, 0], [0, 1 + 2 * b * b]]
        for (kind, count) in [(SamplerKind.slice, 20_000), (.ensemble, 40_000)] {
            var rng = RandomSource(seed: 13)
            let run = try runMCMC(Self.settings(kind), target: Self.banana(b), initial: Self.starts(20, 2, spread: 2, seed: 3),
                                  groups: 1, count: count, rng: &rng)
            let diagnostics = try XCTUnwrap(run.diagnostics[0])
            print("\(kind) banana: R-hat \(diagnostics.rHat), ESS \(diagnostics.bulkEffectiveSampleSize)")
            XCTAssertLessThan(diagnostics.rHat.max()!, 1.05, "\(kind)")
            assertMoments(run.samples[0], ess: diagnostics.bulkEffectiveSampleSize, mean: [0, 0], covariance: covariance, "\(kind) banana")
        }
    }

    func testGroupsAreSampledSeparatelyEachFromItsOwnTarget() throws {
        // Group g is N(μ_g, I) with means 10 apart: a chain that wandered into another
        // group's target, or a row read against the wrong group, would stand out.
        let means = [[-10.0, 0], [0, 5], [10, -5]]
        var blocksAreEqual = true
        let target: BatchedLogDensity = { x in
            if x.rows % 3 != 0 { blocksAreEqual = false }
            let perGroup = x.rows / 3
            return (0..<x.rows).map { i in
                let mu = means[i / perGroup]
                return -0.5 * ((x[i, 0] - mu[0]) * (x[i, 0] - mu[0]) + (x[i, 1] - mu[1]) * (x[i, 1] - mu[1]))
            }
        }
        for kind in [SamplerKind.slice, .ensemble] {
            var rng = RandomSource(seed: 14)
            // Every group starts from the same points, near none of the means.
            let run = try runMCMC(Self.settings(kind), target: target, initial: Self.starts(60, 2, spread: 1, seed: 4),
                                  groups: 3, count: 8000, rng: &rng)
            XCTAssertEqual(run.samples.count, 3)
            for (g, mu) in means.enumerated() {
                let x = run.samples[g]
                let diagnostics = try XCTUnwrap(run.diagnostics[g])
                assertMoments(x, ess: diagnostics.bulkEffectiveSampleSize, mean: mu, covariance: [[1, 0], [0, 1]], "\(kind) group \(g)")
                let farthest = (0..<x.rows).map { i in max(abs(x[i, 0] - mu[0]), abs(x[i, 1] - mu[1])) }.max()!
                XCTAssertLessThan(farthest, 6, "\(kind): group \(g) has a draw \(farthest) from its mean")
            }
        }
        XCTAssertTrue(blocksAreEqual, "a call's rows did not split into 3 equal group blocks")
    }

    func testSliceSamplerCostForTenThousandDrawsOf2DGaussian() throws {
        // The figure of the issue: 10,000 draws, 20 chains, 200 warm-up steps, 2 parameters.
        let g = Gaussian(mean: [0.5, -1], scales: [1, 0.3], correlation: 0.6)
        var calls = 0
        let counted: BatchedLogDensity = { x in calls += 1; return try g.target(x) }
        var rng = RandomSource(seed: 15)
        let start = Date()
        let run = try runMCMC(Self.settings(.slice), target: counted, initial: Self.starts(20, 2, spread: 1, seed: 5),
                              groups: 1, count: 10_000, rng: &rng)
        let seconds = Date().timeIntervalSince(start)
        let sweeps = 200 + 500
        print(String(format: "slice 2-D Gaussian, 10,000 draws, 20 chains: %d calls (%.2f per sweep, %.2f per coordinate update), %d rows (%.1f per chain per coordinate update), %.3f s, ESS %@",
                     run.targetCalls, Double(run.targetCalls) / Double(sweeps), Double(run.targetCalls) / Double(2 * sweeps),
                     run.evaluatedRows, Double(run.evaluatedRows) / Double(20 * 2 * sweeps), seconds,
                     run.diagnostics[0]!.bulkEffectiveSampleSize.map { String(Int($0)) }.joined(separator: "/")))
        XCTAssertEqual(calls, run.targetCalls)
        // Chains advance on their own, so a coordinate update costs the mean number of
        // rounds per chain (1.6 for a Gaussian with two points of look-ahead), not the most.
        XCTAssertLessThan(Double(run.targetCalls) / Double(2 * sweeps), 2)
        XCTAssertLessThan(Double(run.evaluatedRows) / Double(20 * 2 * sweeps), 8)
    }

    func testChainsAreInterleavedStepMajorAndThinned() throws {
        // Four disjoint intervals 100 apart, a chain in each: stepping out cannot cross the
        // gaps, so a draw's interval tells its chain.
        let target: BatchedLogDensity = { x in
            (0..<x.rows).map { i in
                let v = x[i, 0], k = (v / 100).rounded(.down)
                return k >= 0 && k < 4 && v - 100 * k <= 1 ? 0 : -.infinity
            }
        }
        let initial = Matrix<Double>(rows: 4, cols: 1) { c, _ in 100 * Double(c) + 0.5 }
        var rng = RandomSource(seed: 16)
        let run = try runMCMC(Self.settings(.slice, chains: 4, warmup: 10, thin: 3), target: target, initial: initial,
                              groups: 1, count: 25, rng: &rng)
        let x = run.samples[0]
        XCTAssertEqual(x.rows, 25)
        for r in 0..<25 { XCTAssertEqual(Int(x[r, 0] / 100), r % 4, "draw \(r)") }
        // ceil(25 / 4) = 7 kept steps per chain, all of them in the diagnostics.
        XCTAssertEqual(run.diagnostics[0]?.draws, 28)

        // The ensemble makes exactly two calls per step after the one for the starts.
        var ensembleRng = RandomSource(seed: 16)
        let ensemble = try runMCMC(Self.settings(.ensemble, chains: 4, warmup: 10, thin: 3), target: Gaussian(mean: [0], covariance: [[1]]).target,
                                   initial: Self.starts(4, 1, spread: 1, seed: 6), groups: 1, count: 25, rng: &ensembleRng)
        XCTAssertEqual(ensemble.targetCalls, 1 + 2 * (10 + 7 * 3))
        XCTAssertEqual(ensemble.samples[0].rows, 25)
    }

    // MARK: - Importance resampling

    func testImportanceResamplingMatchesA2DTargetInEachGroup() throws {
        // Two groups, N((1, −0.5), Σ) and the same shifted by (−2, 1), from one N(0, 2²I)
        // proposal. SIR with 64 proposals per draw is exact only as that number grows; the
        // importance weights here are worth about 12 proposals, which biases the variance
        // by a few percent, inside the error bounds for 4000 independent draws.
        let sigma = [[0.25, 0.12], [0.12, 0.64]]
        let shapes = [Gaussian(mean: [1, -0.5], covariance: sigma), Gaussian(mean: [-1, 0.5], covariance: sigma)]
        let target: BatchedLogDensity = { x in
            let perGroup = x.rows / 2
            return (0..<x.rows).map { shapes[$0 / perGroup].logDensity(x, row: $0) }
        }
        let spread = 2.0
        var rng = RandomSource(seed: 21)
        var progressSteps: [Int] = []
        let run = try runImportanceResampling(
            oversampling: 64, target: target,
            proposal: { rows, rng in Matrix(rows: rows, cols: 2) { _, _ in spread * rng.normal() } },
            proposalLogDensity: { x in (0..<x.rows).map { i in -0.5 * (x[i, 0] * x[i, 0] + x[i, 1] * x[i, 1]) / (spread * spread) } },
            groups: 2, count: 4000, rng: &rng, progress: { progressSteps.append($0.step) })
        XCTAssertEqual(run.diagnostics.count, 2)
        XCTAssertNil(run.diagnostics[0] ?? nil)
        // 2 · 4000 · 64 rows in calls of at most 100,000.
        XCTAssertEqual(run.evaluatedRows, 2 * 4000 * 64)
        XCTAssertEqual(run.targetCalls, 6)
        XCTAssertEqual(progressSteps.last, 8000)
        for (g, shape) in shapes.enumerated() {
            XCTAssertEqual(run.samples[g].rows, 4000)
            assertMoments(run.samples[g], ess: [4000, 4000], mean: shape.mean, covariance: sigma, "SIR group \(g)")
        }
    }

    // MARK: - Unconstrained transform

    func testUnconstrainedTransformRoundTripsAndItsJacobianMatchesFiniteDifferences() throws {
        let bounds = [SupportInterval(lower: -1, upper: 3), SupportInterval(lower: 2, upper: .infinity),
                      SupportInterval(lower: -.infinity, upper: 5), .real]
        let transform = UnconstrainedTransform(bounds: bounds)
        XCTAssertFalse(transform.isIdentity)
        XCTAssertTrue(UnconstrainedTransform(bounds: [.real, .real]).isIdentity)
        var rng = RandomSource(seed: 31)
        let theta = Matrix<Double>(rows: 200, cols: 4) { _, j in
            switch j {
            case 0: return -1 + 4 * rng.uniform()
            case 1: return 2 - Foundation.log(1 - rng.uniform()) * 3
            case 2: return 5 + Foundation.log(1 - rng.uniform()) * 3
            default: return 10 * rng.normal()
            }
        }
        let u = transform.unconstrained(theta)
        XCTAssertTrue(u.isFinite)
        let back = transform.constrained(u)
        for k in 0..<theta.count {
            XCTAssertEqual(back.storage[k], theta.storage[k], accuracy: 1e-12 * (1 + abs(theta.storage[k])))
        }
        // log |dθ/du| is the sum of the log-derivatives of the coordinate maps.
        let logJ = transform.logAbsDetJacobian(u)
        let h = 1e-5
        for i in 0..<u.rows {
            var expected = 0.0
            for j in 0..<4 {
                var plus = Matrix<Double>(rows: 1, cols: 4, u.row(i)), minus = plus
                plus[0, j] += h
                minus[0, j] -= h
                let derivative = (transform.constrained(plus)[0, j] - transform.constrained(minus)[0, j]) / (2 * h)
                expected += Foundation.log(abs(derivative))
            }
            XCTAssertEqual(logJ[i], expected, accuracy: 1e-6, "row \(i)")
        }
        // A θ on a finite end maps to a finite u that maps back to that end.
        let ends = Matrix<Double>([[-1, 2, 5, 0], [3, 2, 5, 0]])
        let uEnds = transform.unconstrained(ends)
        XCTAssertTrue(uEnds.isFinite)
        XCTAssertEqual(transform.constrained(uEnds), ends)
        XCTAssertTrue(transform.logAbsDetJacobian(uEnds).allSatisfy { $0.isFinite })
    }

    func testSamplingBoundedDensitiesThroughTheTransformGivesTheirMoments() throws {
        // θ1 = 2·Beta(2, 5) on [0, 2] (mean 4/7, variance 4·10/(49·8)), θ2 = 1 + Gamma(3, 1)
        // on [1, ∞) (mean 4, variance 3), sampled in u and mapped back.
        let target: BatchedLogDensity = { x in
            (0..<x.rows).map { i in
                let a = x[i, 0] / 2, b = x[i, 1] - 1
                guard a >= 0, a <= 1, b >= 0 else { return -.infinity }
                return Foundation.log(a) + 4 * Foundation.log(1 - a) + 2 * Foundation.log(b) - b
            }
        }
        let transform = UnconstrainedTransform(bounds: [SupportInterval(lower: 0, upper: 2), SupportInterval(lower: 1, upper: .infinity)])
        let starts = Matrix<Double>(rows: 20, cols: 2) { c, j in j == 0 ? 0.1 + 0.09 * Double(c) : 1.5 + 0.3 * Double(c) }
        for kind in [SamplerKind.slice, .ensemble] {
            var rng = RandomSource(seed: 32)
            let run = try runMCMC(Self.settings(kind), target: transform.unconstrainedTarget(target),
                                  initial: transform.unconstrained(starts), groups: 1, count: 20_000, rng: &rng)
            let theta = transform.constrained(run.samples[0])
            XCTAssertTrue((0..<theta.rows).allSatisfy { theta[$0, 0] >= 0 && theta[$0, 0] <= 2 && theta[$0, 1] >= 1 })
            // The bulk ESS uses ranks only, so it is the same in u and in θ.
            let ess = try XCTUnwrap(run.diagnostics[0]).bulkEffectiveSampleSize
            XCTAssertEqual(Self.mean(theta, 0), 4.0 / 7, accuracy: 4.5 * (40.0 / 392 / ess[0]).squareRoot(), "\(kind)")
            XCTAssertEqual(Self.mean(theta, 1), 4, accuracy: 4.5 * (3 / ess[1]).squareRoot(), "\(kind)")
            XCTAssertEqual(Self.covariance(theta, 1, 1), 3, accuracy: 6 * (2 * 9 / ess[1]).squareRoot() * 1.5, "\(kind)")
        }
    }

    // MARK: - Diagnostics

    /// `chains` chains of `length` steps of a stationary AR(1) process with coefficient rho.
    static func autoregressiveChains(_ chains: Int, _ length: Int, rho: Double, seed: UInt64,
                                     shift: (Int) -> Double = { _ in 0 }, scale: (Int) -> Double = { _ in 1 }) -> [Matrix<Double>] {
        var rng = RandomSource(seed: seed)
        return (0..<chains).map { c in
            var x = rng.normal()
            var values: [Double] = []
            for _ in 0..<length {
                values.append(shift(c) + scale(c) * x)
                x = rho * x + (1 - rho * rho).squareRoot() * rng.normal()
            }
            return Matrix(rows: length, cols: 1, values)
        }
    }

    func testDiagnosticsOfIndependentDraws() {
        let chains = (0..<4).map { c in Self.starts(1000, 2, spread: 1, seed: 40 + UInt64(c)) }
        let d = ChainDiagnostics.compute(chains: chains)
        XCTAssertEqual(d.draws, 4000)
        XCTAssertEqual(d.chains, 4)
        for p in 0..<2 {
            XCTAssertLessThan(d.rHat[p], 1.01)
            XCTAssertGreaterThan(d.rHat[p], 0.99)
            // The estimate of an i.i.d. sample's ESS scatters by several percent around N.
            XCTAssertEqual(d.bulkEffectiveSampleSize[p], 4000, accuracy: 400)
        }
        XCTAssertEqual(d.warnings, [])
    }

    func testDiagnosticsOfAutoregressiveChainsMatchTheTheory() {
        // ESS = N (1 − ρ) / (1 + ρ) = 20,000 · 0.1 / 1.9 ≈ 1053, under 10% of the draws.
        let d = ChainDiagnostics.compute(chains: Self.autoregressiveChains(4, 5000, rho: 0.9, seed: 41))
        XCTAssertEqual(d.bulkEffectiveSampleSize[0], 20_000 * 0.1 / 1.9, accuracy: 0.15 * 1053)
        XCTAssertLessThan(d.rHat[0], 1.01)
        XCTAssertEqual(d.warnings.count, 1)
        XCTAssertTrue(d.warnings[0].hasPrefix("bulk ESS ") && d.warnings[0].hasSuffix(" is under 10% of 20000 draws for parameter 0"), d.warnings[0])
    }

    func testDiagnosticsFlagChainsThatDisagreeInLocationOrScale() {
        // One chain shifted by one standard deviation: the bulk R-hat sees it.
        let shifted = ChainDiagnostics.compute(chains: Self.autoregressiveChains(4, 1000, rho: 0, seed: 42, shift: { $0 == 3 ? 1 : 0 }))
        XCTAssertGreaterThan(shifted.rHat[0], 1.1)
        XCTAssertTrue(shifted.warnings.contains { $0.hasPrefix("R-hat ") && $0.hasSuffix(" > 1.01 for parameter 0") }, "\(shifted.warnings)")
        // One chain three times as wide with the same centre: only the folded (tail) R-hat sees it.
        let wide = ChainDiagnostics.compute(chains: Self.autoregressiveChains(4, 1000, rho: 0, seed: 43, scale: { $0 == 3 ? 3 : 1 }))
        XCTAssertGreaterThan(wide.rHat[0], 1.05)
        // A chain that drifts disagrees with itself: split R-hat.
        let drifting = ChainDiagnostics.compute(chains: Self.autoregressiveChains(4, 1000, rho: 0, seed: 44).map { chain in
            Matrix(rows: chain.rows, cols: 1) { i, _ in chain[i, 0] + 2 * Double(i) / Double(chain.rows) }
        })
        XCTAssertGreaterThan(drifting.rHat[0], 1.1)
        // Too few draws: no numbers, one warning.
        let short = ChainDiagnostics.compute(chains: [Matrix([[1.0], [2]]), Matrix([[1.0], [3]])])
        XCTAssertTrue(short.rHat[0].isNaN)
        XCTAssertEqual(short.warnings.count, 1)
    }

    // MARK: - Errors, settings, reproducibility

    func testBadSettingsAndArgumentsThrowErrorsNamingTheField() {
        let target = Gaussian(mean: [0, 0, 0], covariance: [[1, 0, 0], [0, 1, 0], [0, 0, 1]]).target
        func expect(_ field: String, _ body: () throws -> Void, line: UInt = #line) {
            XCTAssertThrowsError(try body(), line: line) { error in
                guard let e = error as? SamplerError else { return XCTFail("\(error)", line: line) }
                XCTAssertEqual(e.field, field, "\(e)", line: line)
                XCTAssertTrue(e.description.contains(field), "\(e)", line: line)
            }
        }
        func run(_ change: (inout SamplerSettings) -> Void, rows: Int = 20, count: Int = 10) throws {
            var s = SamplerSettings()
            change(&s)
            var rng = RandomSource(seed: 1)
            _ = try runMCMC(s, target: target, initial: Self.starts(rows, 3, spread: 1, seed: 1), groups: 1, count: count, rng: &rng)
        }
        expect("chains") { try run({ $0.chains = 1 }, rows: 1) }
        expect("warmup") { try run { $0.warmup = -1 } }
        expect("thin") { try run { $0.thin = 0 } }
        expect("sirOversampling") { try run { $0.sirOversampling = 0 } }
        expect("kind") { try run { $0.kind = .sir } }
        // The ensemble needs 2·d = 6 walkers for 3 parameters.
        expect("chains") { try run({ $0.kind = .ensemble; $0.chains = 5 }, rows: 5) }
        expect("initial") { try run({ $0.chains = 10 }) }
        expect("count") { try run({ _ in }, count: 0) }
        expect("sirOversampling") {
            var rng = RandomSource(seed: 1)
            _ = try runImportanceResampling(oversampling: 0, target: target, proposal: { r, _ in Matrix(rows: r, cols: 3, repeating: 0) },
                                            proposalLogDensity: { _ in [] }, groups: 1, count: 1, rng: &rng)
        }
        var ok = SamplerSettings()
        ok.kind = .ensemble
        XCTAssertNoThrow(try ok.validate())
    }

    func testStartsOutsideTheSupportAreReplacedAndAHopelessGroupThrows() throws {
        // Positive half-line only: half the starts are outside.
        let halfLine: BatchedLogDensity = { x in (0..<x.rows).map { x[$0, 0] > 0 ? -x[$0, 0] : -.infinity } }
        let starts = Matrix<Double>(rows: 20, cols: 1) { c, _ in c % 2 == 0 ? -1 : 0.5 }
        var rng = RandomSource(seed: 50)
        let run = try runMCMC(Self.settings(.slice, warmup: 50), target: halfLine, initial: starts, groups: 1, count: 4000, rng: &rng)
        XCTAssertTrue(run.samples[0].storage.allSatisfy { $0 > 0 })
        // Exp(1): mean 1.
        XCTAssertEqual(Self.mean(run.samples[0], 0), 1, accuracy: 4.5 / run.diagnostics[0]!.bulkEffectiveSampleSize[0].squareRoot())

        for nan in [false, true] {
            let nowhere: BatchedLogDensity = { x in Array(repeating: nan ? .nan : -.infinity, count: x.rows) }
            XCTAssertThrowsError(try runMCMC(SamplerSettings(), target: nowhere, initial: Self.starts(20, 2, spread: 1, seed: 1),
                                             groups: 1, count: 10, rng: &rng)) { error in
                XCTAssertEqual((error as? SamplerError)?.code, .noFiniteStart, "\(error)")
                XCTAssertTrue("\(error)".contains("−∞"), "\(error)")
            }
        }
        // Group 1 of 2 has no finite start: the error names it.
        let secondGroupNowhere: BatchedLogDensity = { x in (0..<x.rows).map { $0 < x.rows / 2 ? 0 : -.infinity } }
        XCTAssertThrowsError(try runMCMC(SamplerSettings(), target: secondGroupNowhere, initial: Self.starts(40, 2, spread: 1, seed: 1),
                                         groups: 2, count: 10, rng: &rng)) { error in
            XCTAssertTrue("\(error)".contains("group 1"), "\(error)")
        }
        // So does importance resampling where every proposal is outside.
        XCTAssertThrowsError(try runImportanceResampling(
            oversampling: 4, target: halfLine, proposal: { r, _ in Matrix(rows: r, cols: 1, repeating: -1) },
            proposalLogDensity: { Array(repeating: 0, count: $0.rows) }, groups: 1, count: 10, rng: &rng)) { error in
            XCTAssertEqual((error as? SamplerError)?.code, .noFiniteWeight, "\(error)")
        }
    }

    func testTheSameSeedGivesTheSameSamples() throws {
        let target = Self.banana(0.5)
        func draws(_ kind: SamplerKind, seed: UInt64) throws -> Matrix<Double> {
            var rng = RandomSource(seed: seed)
            if kind == .sir {
                return try runImportanceResampling(oversampling: 8, target: target,
                                                   proposal: { r, rng in Matrix(rows: r, cols: 2) { _, _ in 2 * rng.normal() } },
                                                   proposalLogDensity: { x in (0..<x.rows).map { -(x[$0, 0] * x[$0, 0] + x[$0, 1] * x[$0, 1]) / 8 } },
                                                   groups: 2, count: 300, rng: &rng).samples[1]
            }
            return try runMCMC(Self.settings(kind, warmup: 20), target: target, initial: Self.starts(40, 2, spread: 1, seed: 3),
                               groups: 2, count: 300, rng: &rng).samples[1]
        }
        for kind in SamplerKind.allCases {
            XCTAssertEqual(try draws(kind, seed: 7), try draws(kind, seed: 7), "\(kind)")
            XCTAssertNotEqual(try draws(kind, seed: 7), try draws(kind, seed: 8), "\(kind)")
        }
    }

    func testResampleByWeightFollowsTheWeights() {
        let candidates = Matrix<Double>([[0], [1], [2], [10], [11], [12]])
        let logWeights: [Double] = [0, Foundation.log(3), -.infinity, .nan, -.infinity, 5]
        var rng = RandomSource(seed: 60)
        let picked = resampleByWeight(candidates, logWeights: logWeights, count: 40_000, rng: &rng)
        let share1 = Double(picked.storage.filter { $0 == 1 }.count) / 40_000
        let total: Double = 1 + 3 + Foundation.exp(5)
        XCTAssertEqual(share1, 3 / total, accuracy: 0.003)
        XCTAssertFalse(picked.storage.contains(2))
        XCTAssertFalse(picked.storage.contains(10))
        // By group: each group's draws come from its own block and weights.
        let grouped = resampleByWeight(candidates, logWeights: logWeights, groups: 2, count: 1000, rng: &rng)
        XCTAssertEqual(grouped.rows, 2000)
        let first = grouped.storage[0..<1000], second = grouped.storage[1000...]
        XCTAssertTrue(first.allSatisfy { $0 == 0 || $0 == 1 })
        XCTAssertTrue(second.allSatisfy { $0 == 12 })
        XCTAssertEqual(Double(first.filter { $0 == 1 }.count) / 1000, 0.75, accuracy: 0.05)
        // No finite weight at all: uniform.
        let uniform = resampleByWeight(candidates, logWeights: Array(repeating: -.infinity, count: 6), count: 6000, rng: &rng)
        for v in [0.0, 1, 2, 10, 11, 12] {
            XCTAssertEqual(Double(uniform.storage.filter { $0 == v }.count) / 6000, 1.0 / 6, accuracy: 0.03)
        }
    }

    func testProgressIsReportedSparinglyAndEndsAtTheLastStep() throws {
        for kind in [SamplerKind.slice, .ensemble] {
            var reports: [SamplerProgress] = []
            var rng = RandomSource(seed: 70)
            _ = try runMCMC(Self.settings(kind, warmup: 100), target: Self.banana(0.5), initial: Self.starts(20, 2, spread: 1, seed: 3),
                            groups: 1, count: 2000, rng: &rng, progress: { reports.append($0) })
            XCTAssertEqual(reports.last?.step, 200, "\(kind)")
            XCTAssertEqual(reports.last?.totalSteps, 200, "\(kind)")
            XCTAssertEqual(reports.last?.phase, .sampling, "\(kind)")
            XCTAssertEqual(reports.map(\.step), reports.map(\.step).sorted(), "\(kind): steps go forward")
            XCTAssertTrue(reports.allSatisfy { ($0.step < 100) == ($0.phase == .warmup) }, "\(kind): warm-up is the first 100 steps")
            // However long the run took, reports came at most once per 0.2 s, plus the last one.
            let elapsed = reports.last?.elapsedSeconds ?? 0
            XCTAssertLessThanOrEqual(reports.count, Int(elapsed / 0.2) + 1, "\(kind)")
        }
    }

    /// The throttle on a clock the test moves: a report once `interval` has passed since the
    /// last one, and always at the last step.
    func testProgressThrottleReportsOncePerIntervalAndAtTheEnd() {
        var now = 10.0
        var reports: [SamplerProgress] = []
        var throttle = ProgressThrottle({ reports.append($0) }, interval: 1, clock: { now })
        for step in 1...30 {
            now += 0.25
            throttle.report(.sampling, step: step, of: 30)
        }
        // Every fourth step a full second has passed; step 30 is the last.
        XCTAssertEqual(reports.map(\.step), [4, 8, 12, 16, 20, 24, 28, 30])
        XCTAssertEqual(reports.map(\.elapsedSeconds), [1, 2, 3, 4, 5, 6, 7, 7.5])

        // A run faster than the interval reports only its last step.
        var still: [SamplerProgress] = []
        var frozen = ProgressThrottle({ still.append($0) }, interval: 1, clock: { 5 })
        for step in 1...50 { frozen.report(.warmup, step: step, of: 50) }
        XCTAssertEqual(still.map(\.step), [50])
        XCTAssertEqual(still.first?.phase, .warmup)
    }

    func testSettingsDecodeWithDefaultsForAbsentKeys() throws {
        let decoded = try JSONDecoder().decode(SamplerSettings.self, from: Data(#"{"kind": "ensemble", "chains": 32}"#.utf8))
        var expected = SamplerSettings()
        expected.kind = .ensemble
        expected.chains = 32
        XCTAssertEqual(decoded, expected)
        XCTAssertEqual(try JSONDecoder().decode(SamplerSettings.self, from: JSONEncoder().encode(decoded)), decoded)
    }
}

/// The inverse of a symmetric positive-definite matrix, by Gauss–Jordan elimination.
private func inverse(_ a: [[Double]]) -> [[Double]] {
    let n = a.count
    var m = a.enumerated().map { i, row in row + (0..<n).map { $0 == i ? 1.0 : 0.0 } }
    for c in 0..<n {
        let pivot = m[c][c]
        m[c] = m[c].map { $0 / pivot }
        for r in 0..<n where r != c {
            let f = m[r][c]
            m[r] = zip(m[r], m[c]).map { $0 - f * $1 }
        }
    }
    return m.map { Array($0[n...]) }
}
