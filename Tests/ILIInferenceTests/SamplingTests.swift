import Foundation
import ILIInference
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

    func testSliceSamplerMatchesACorrelated5DGaussian() throws {
        let g = Gaussian(mean: [1, -2, 0.5, 3, 0], scales: [1, 2, 0.5, 3, 1.5], correlation: 0.8)
        var rng = RandomSource(seed: 11)
        let run = try runMCMC(Self.settings(.slice), target: g.target, initial: Self.starts(20, 5, spread: 3, seed: 1),
                              groups: 1, count: 20_000, rng: &rng)
        let diagnostics = try XCTUnwrap(run.diagnostics[0])
        print("slice 5-D Gaussian: R-hat \(diagnostics.rHat), ESS \(diagnostics.bulkEffectiveSampleSize), calls \(run.targetCalls), rows \(run.evaluatedRows)")
        XCTAssertEqual(run.samples[0].rows, 20_000)
        XCTAssertLessThan(diagnostics.rHat.max()!, 1.02)
        assertMoments(run.samples[0], ess: diagnostics.bulkEffectiveSampleSize, mean: g.mean, covariance: g.covariance, "slice")
    }

    func testEnsembleSamplerMatchesACorrelated5DGaussian() throws {
        let g = Gaussian(mean: [1, -2, 0.5, 3, 0], scales: [1, 2, 0.5, 3, 1.5], correlation: 0.8)
        var rng = RandomSource(seed: 12)
        let run = try runMCMC(Self.settings(.ensemble, chains: 20, warmup: 500), target: g.target,
                              initial: Self.starts(20, 5, spread: 3, seed: 2), groups: 1, count: 60_000, rng: &rng)
        let diagnostics = try XCTUnwrap(run.diagnostics[0])
        print("ensemble 5-D Gaussian: R-hat \(diagnostics.rHat), ESS \(diagnostics.bulkEffectiveSampleSize), calls \(run.targetCalls)")
        XCTAssertLessThan(diagnostics.rHat.max()!, 1.05)
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
        // One call per coordinate update when the first bracket needs no stepping out and a
        // speculative candidate is accepted; a second round now and then.
        XCTAssertLessThan(Double(run.targetCalls) / Double(2 * sweeps), 1.6)
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
