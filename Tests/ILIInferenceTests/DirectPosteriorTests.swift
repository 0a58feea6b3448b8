import Foundation
import ILIInference
import ILIValidation
import XCTest

final class DirectPosteriorTests: XCTestCase {
    /// An untrained conditional MAF over θ ∈ ℝ (1-D) or ℝ² given a 1-D x: its mass spills
    /// well outside a narrow uniform prior, which is what exercises rejection and leakage.
    func estimator(features: Int, seed: UInt64, kind: DensityEstimatorConfiguration.Kind = .maf) throws -> any ConditionalDensityEstimator<Float> {
        var rng = RandomSource(seed: seed)
        let c = DensityEstimatorConfiguration(kind: kind, featureCount: features, contextCount: 1)
        return try makeDensityEstimator(c, rng: &rng)
    }

    func uniformPrior(_ low: [Double], _ high: [Double]) throws -> any Prior {
        try PriorSpecification.uniform(low: low, high: high).makePrior()
    }

    func testLeakageCorrectedDensityIntegratesToOneOverTheSupport() throws {
        let prior = try uniformPrior([-0.5], [1.0])
        let posterior = DirectPosterior(prior: prior, ensemble: DensityEnsemble(members: [try estimator(features: 1, seed: 1)], weights: [1]))
        posterior.leakageSampleCount = 200_000
        posterior.leakageRelativeError = 0.001
        let x = [0.3]
        let acceptance = try posterior.acceptance(of: x)
        XCTAssertLessThan(acceptance, 0.9, "the test needs mass outside the support")
        let n = 3000
        let grid = Matrix<Double>(rows: n, cols: 1) { i, _ in -0.5 + 1.5 * (Double(i) + 0.5) / Double(n) }
        let lp = try posterior.logProb(grid, observations: Matrix(rows: n, cols: 1, repeating: 0.3))
        let integral = lp.map { Foundation.exp($0) * 1.5 / Double(n) }.reduce(0, +)
        // The acceptance is estimated to 0.1% relative standard error.
        XCTAssertEqual(integral, 1, accuracy: 1e-2)
        XCTAssertEqual(try posterior.logProb(Matrix([[1.5]]), observations: Matrix([[0.3]]))[0], -.infinity)
    }

    func testSamplesStayInsideTheSupportAndFollowTheTruncatedDensity() throws {
        let prior = try uniformPrior([-2, -2], [2, 2])
        let posterior = DirectPosterior(prior: prior, ensemble: DensityEnsemble(members: [try estimator(features: 2, seed: 2)], weights: [1]))
        var rng = RandomSource(seed: 3)
        let obs = Matrix<Double>([[0.1], [-2.0]])
        let draws = try posterior.sample(2000, observations: obs, rng: &rng)
        XCTAssertEqual(draws.rows, 4000)
        XCTAssertTrue(prior.contains(draws).allSatisfy { $0 })
        // Same seed, same samples.
        var again = RandomSource(seed: 3)
        XCTAssertEqual(try posterior.sample(2000, observations: obs, rng: &again), draws)

        // Binned chi-square of each observation's draws against the posterior's own density
        // inside the support, integrated over 6×6 cells by a 10×10 midpoint rule in each and
        // normalised over the support (that the normalisation is the leakage correction is
        // the test above). Only about 7% of this untrained flow's mass falls inside the
        // support, so the draws are what is left after heavy rejection.
        let cells = 6, points = 10, side = 4.0 / Double(cells)
        for k in 0..<obs.rows {
            let n = cells * points
            let grid = Matrix<Double>(rows: n * n, cols: 2) { r, j in
                -2 + 4 * (Double(j == 0 ? r / n : r % n) + 0.5) / Double(n)
            }
            let logDensity = try posterior.logProb(grid, observations: Matrix(rows: n * n, cols: 1, repeating: obs[k, 0]))
            var mass = [Double](repeating: 0, count: cells * cells)
            for r in 0..<(n * n) {
                let cell = (r / n) / points * cells + (r % n) / points
                mass[cell] += Foundation.exp(logDensity[r]) * (4.0 / Double(n)) * (4.0 / Double(n))
            }
            var observed = [Int](repeating: 0, count: cells * cells)
            for r in (k * 2000)..<((k + 1) * 2000) {
                let a = min(cells - 1, Int((draws[r, 0] + 2) / side)), b = min(cells - 1, Int((draws[r, 1] + 2) / side))
                observed[a * cells + b] += 1
            }
            // Cells expecting fewer than five draws are pooled, as the chi-square approximation needs.
            let total = mass.reduce(0, +)
            var pooledObserved: [Int] = [], pooledExpected: [Double] = []
            var restObserved = 0, restExpected = 0.0
            for c in 0..<mass.count {
                let expected = 2000 * mass[c] / total
                if expected >= 5 {
                    pooledObserved.append(observed[c]); pooledExpected.append(expected)
                } else {
                    restObserved += observed[c]; restExpected += expected
                }
            }
            if restExpected > 0 { pooledObserved.append(restObserved); pooledExpected.append(restExpected) }
            XCTAssertGreaterThan(pooledObserved.count, 10, "observation \(k): too few cells to test")
            let test = ChiSquare.goodnessOfFit(observed: pooledObserved, expected: pooledExpected)
            XCTAssertGreaterThan(test.pValue, 1e-3, "observation \(k): χ² \(test.statistic) over \(pooledObserved.count) cells")
        }
    }

    func testSamplingStopsWithAClearErrorWhenTheSupportIsOutOfReach() throws {
        let prior = try uniformPrior([50], [51])
        let posterior = DirectPosterior(prior: prior, ensemble: DensityEnsemble(members: [try estimator(features: 1, seed: 4)], weights: [1]))
        posterior.maxDrawsPerSample = 50
        var warnings: [String] = []
        posterior.warn = { warnings.append($0) }
        var rng = RandomSource(seed: 5)
        XCTAssertThrowsError(try posterior.sample(100, observations: Matrix([[0]]), rng: &rng)) { error in
            XCTAssertEqual((error as? PosteriorError)?.code, .samplingFailed)
            XCTAssertTrue("\(error)".contains("fell inside the prior's support"), "\(error)")
        }
        XCTAssertEqual(warnings.count, 1, "one low-acceptance warning")
    }

    func testWrongObservationWidthIsAnErrorNamingTheShapes() throws {
        let posterior = DirectPosterior(prior: try uniformPrior([0], [1]), ensemble: DensityEnsemble(members: [try estimator(features: 1, seed: 6)], weights: [1]))
        var rng = RandomSource(seed: 1)
        XCTAssertThrowsError(try posterior.sample(10, observations: Matrix([[1, 2]]), rng: &rng)) { error in
            XCTAssertTrue("\(error)".contains("1x2") && "\(error)".contains("width 1"), "\(error)")
        }
    }

    func testEnsembleMixesMembersByWeight() throws {
        let a = try estimator(features: 1, seed: 7), b = try estimator(features: 1, seed: 8, kind: .mdn)
        let ensemble = DensityEnsemble(members: [a, b], weights: [3, 1])
        XCTAssertEqual(ensemble.weights, [0.75, 0.25])
        let y = Matrix<Float>([[0.2], [-0.4]]), c = Matrix<Float>([[0.0], [1.0]])
        let la = try a.logProb(of: y, given: c), lb = try b.logProb(of: y, given: c)
        let mixed = ensemble.logProb(y, context: c)
        for i in 0..<2 {
            let expected = Foundation.log(0.75 * Foundation.exp(Double(la[i])) + 0.25 * Foundation.exp(Double(lb[i])))
            XCTAssertEqual(mixed[i], expected, accuracy: 1e-4)
        }
        XCTAssertEqual(DensityEnsemble.weights(fromValidationScores: [-1, -2]).first!, 1 / (1 + Foundation.exp(-1)), accuracy: 1e-12)
    }

    func testMAPOfAnAnalyticallyKnownMode() throws {
        // A one-member ensemble trained briefly on y | c ~ N(c, 0.1²) puts its mode near c.
        var rng = RandomSource(seed: 11)
        let n = 4000
        let c = Matrix<Double>(rows: n, cols: 1) { _, _ in rng.uniform(in: -1.0, 1.0) }
        let y = Matrix<Double>(rows: n, cols: 1) { i, _ in c[i, 0] + 0.1 * rng.normal() }
        let data = try SimulationDataset(theta: y, x: c)
        var settings = TrainingSettings()
        settings.maxEpochs = 40
        settings.batchSize = 100
        settings.learningRate = 2e-3
        let config = DensityEstimatorConfiguration(kind: .mdn, featureCount: 1, contextCount: 1)
        let result = try NeuralPosteriorEstimation.train(configurations: [config], data: data, settings: settings, seed: 1)
        let posterior = DirectPosterior(prior: try uniformPrior([-2], [2]), ensemble: result.ensemble)
        let mode = try posterior.map(observation: [0.4], rng: &rng)
        XCTAssertEqual(mode[0], 0.4, accuracy: 0.05)
    }
}
