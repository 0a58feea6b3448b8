import Foundation
@testable import ILIInference
import ILINets
import XCTest

/// Balanced NPE: its loss against a hand computation and finite differences, and what
/// training with it does to a posterior whose exact form is known.
final class BalancedPosteriorTests: XCTestCase {
    /// A small MAF in float64 with random weights, its θ, x and log prior.
    private func smallFlow(rows: Int, seed: UInt64) throws -> (any ConditionalDensityEstimator<Double>, Matrix<Double>, Matrix<Double>, [Double]) {
        var rng = RandomSource(seed: seed)
        var configuration = DensityEstimatorConfiguration.maf(features: 2, context: 2)
        configuration.hiddenFeatures = 6
        configuration.transformCount = 2
        let flow: any ConditionalDensityEstimator<Double> = try makeDensityEstimator(configuration, rng: &rng)
        let theta = Matrix<Double>(rows: rows, cols: 2) { _, _ in rng.normal() }
        let x = Matrix<Double>(rows: rows, cols: 2) { i, j in theta[i, j] + 0.5 * rng.normal() }
        flow.fitStandardization(features: theta, context: x)
        let logPrior = (0..<rows).map { i in -0.5 * (theta[i, 0] * theta[i, 0] + theta[i, 1] * theta[i, 1]) - Double.log(2 * Double.pi) }
        return (flow, theta, x, logPrior)
    }

    /// The loss is −mean log q(θᵢ | xᵢ) + λ(mean σ(log q(θᵢ | xᵢ) − log p(θᵢ)) +
    /// mean σ(log q(θᵢ₊₁ | xᵢ) − log p(θᵢ₊₁)) − 1)² over the given rows, in their order and
    /// cyclically; λ = 0 leaves maximum likelihood, and a single row has no marginal pair.
    func testLossIsTheLikelihoodPlusTheSquaredImbalance() throws {
        let (flow, theta, x, logPrior) = try smallFlow(rows: 12, seed: 1)
        let rows = [7, 2, 9, 0, 4, 11, 5]
        func loss(_ rows: [Int], strength: Double) -> Double {
            let tape = Tape<Double>()
            return withExtendedLifetime(tape) {
                BalancedPosteriorLoss.loss(flow, theta: theta, x: x, logPrior: logPrior, rows: rows, strength: strength, tape: tape).value.scalar
            }
        }
        func logQ(_ t: Int, _ c: Int) -> Double {
            let tape = Tape<Double>()
            return withExtendedLifetime(tape) {
                flow.logProb(tape.constant(theta.rows(at: [t])), context: tape.constant(x.rows(at: [c]))).value.scalar
            }
        }
        let sigmoid = { (v: Double) in 1 / (1 + Double.exp(-v)) }
        let n = Double(rows.count)
        let likelihood = rows.map { logQ($0, $0) }.reduce(0, +) / n
        let joint = rows.map { sigmoid(logQ($0, $0) - logPrior[$0]) }.reduce(0, +) / n
        let marginal = rows.indices.map { p -> Double in
            let other = rows[(p + 1) % rows.count]
            return sigmoid(logQ(other, rows[p]) - logPrior[other])
        }.reduce(0, +) / n
        let imbalance = joint + marginal - 1
        XCTAssertGreaterThan(abs(imbalance), 1e-3, "an untrained flow is not balanced, so the penalty is exercised")
        XCTAssertEqual(loss(rows, strength: 3), -likelihood + 3 * imbalance * imbalance, accuracy: 1e-10)
        XCTAssertEqual(loss(rows, strength: 0), -likelihood, accuracy: 1e-10)
        XCTAssertEqual(loss([4], strength: 3), -logQ(4, 4), accuracy: 1e-10)
    }

    /// The gradient with respect to every kind of weight of the flow, against central
    /// differences in float64, with a penalty strong enough to dominate the likelihood's.
    func testLossGradientMatchesFiniteDifferences() throws {
        let (flow, theta, x, logPrior) = try smallFlow(rows: 10, seed: 2)
        let rows = Array(0..<10)
        let checked = assertGradientsMatchCentralDifferences(of: flow.parameters, perParameter: 4) { tape in
            BalancedPosteriorLoss.loss(flow, theta: theta, x: x, logPrior: logPrior, rows: rows, strength: 30, tape: tape)
        }
        XCTAssertGreaterThan(checked, 20)
    }

    /// θ ~ N(0, 0.1 I₂), x ~ N(θ, 0.1 I₂): the exact posterior is N(x/2, 0.05 I), and
    /// exactly balanced. NPE and BNPE (λ = 100) train on the same 1,000 simulations with the
    /// same seed. BNPE must come out balanced on fresh pairs, E_joint[d] + E_marginal[d] = 1
    /// with d = σ(log q(θ | x) − log p(θ)), within 0.05 (the BNRE test's bound; with 2,000
    /// pairs the Monte Carlo error is about 0.01), and wider than NPE over 300 test points
    /// with 500 draws each: a larger mean posterior variance, at least NPE's coverage of the
    /// true θ by central 68% and 95% intervals, and a lower mean central level |2F(θ*) − 1|
    /// of the truth (the coverage curve's area, higher). Measured on six other seeds at this
    /// budget, BNPE's variance was 7–68% above NPE's (NPE: 0.051–0.055) and every one of these
    /// comparisons went its way; at 2,000 simulations the gap shrinks to 1–6% and the
    /// coverage counts tie within a test point or two, so this budget is the one that tests
    /// the direction. It must still be a posterior of x, not the prior: its variance below
    /// the prior's 0.1, and its mean within 0.1 of x/2 on average (the prior's mean is off
    /// by 0.18).
    func testBalancedPosteriorIsBalancedAndWiderThanNPE() throws {
        let task = GaussianLinear(dimension: 2)
        var rng = RandomSource(seed: 21)
        let (theta, x) = task.simulations(1000, rng: &rng)
        let data = try SimulationDataset(theta: theta, x: x)
        var settings = TrainingSettings()
        settings.maxEpochs = 60
        var configuration = DensityEstimatorConfiguration.maf(features: 2, context: 2)
        configuration.hiddenFeatures = 30
        configuration.transformCount = 3
        let balancedLoss = PosteriorLoss.balanced(strength: 100, prior: .normal(mean: [0, 0], std: [Double(0.1).squareRoot(), Double(0.1).squareRoot()]))
        var posteriors: [String: DirectPosterior] = [:]
        for (name, loss) in [("NPE", PosteriorLoss.maximumLikelihood), ("BNPE", balancedLoss)] {
            let result = try NeuralPosteriorEstimation.train(configurations: [configuration], data: data, settings: settings, seed: 5, loss: loss)
            posteriors[name] = DirectPosterior(prior: task.prior, ensemble: result.ensemble)
        }
        let npe = try XCTUnwrap(posteriors["NPE"]), bnpe = try XCTUnwrap(posteriors["BNPE"])

        // The balance on fresh joint pairs and on the same xs with independent prior θs.
        let (jointTheta, jointX) = task.simulations(2000, rng: &rng)
        let marginalTheta = task.prior.sample(2000, rng: &rng)
        func balance(_ posterior: DirectPosterior) throws -> Double {
            let sigmoid = { (v: [Double]) in v.map { 1 / (1 + Double.exp(-$0)) }.reduce(0, +) / Double(v.count) }
            let joint = zip(try posterior.logProb(jointTheta, observations: jointX), task.prior.logProb(jointTheta)).map { $0 - $1 }
            let marginal = zip(try posterior.logProb(marginalTheta, observations: jointX), task.prior.logProb(marginalTheta)).map { $0 - $1 }
            return sigmoid(joint) + sigmoid(marginal)
        }
        XCTAssertEqual(try balance(bnpe), 1, accuracy: 0.05, "BNPE: balanced on fresh pairs")

        // Width and coverage at 300 test points, 500 draws each; `level` is the mean of
        // |2F(θ*) − 1|, F the posterior's marginal CDF from its draws (0.5 when calibrated).
        let (testTheta, testX) = task.simulations(300, rng: &rng)
        func summary(_ posterior: DirectPosterior) throws -> (variance: Double, meanError: Double, coverage68: Double, coverage95: Double, level: Double) {
            var sampling = RandomSource(seed: 8)
            let draws = 500
            let samples = try posterior.sample(draws, observations: testX, rng: &sampling)
            var variance = 0.0, meanError = 0.0, inside68 = 0, inside95 = 0, level = 0.0
            for i in 0..<testTheta.rows {
                for j in 0..<2 {
                    let column = (0..<draws).map { samples[i * draws + $0, j] }.sorted()
                    let mean = column.reduce(0, +) / Double(draws)
                    variance += column.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(draws - 1)
                    meanError += abs(mean - testX[i, j] / 2)
                    let truth = testTheta[i, j]
                    let below = Double(column.filter { $0 < truth }.count) / Double(draws)
                    level += abs(2 * below - 1)
                    if truth >= column[Int(0.16 * Double(draws))] && truth <= column[Int(0.84 * Double(draws))] { inside68 += 1 }
                    if truth >= column[Int(0.025 * Double(draws))] && truth <= column[Int(0.975 * Double(draws))] { inside95 += 1 }
                }
            }
            let cells = Double(2 * testTheta.rows)
            return (variance / cells, meanError / cells, Double(inside68) / cells, Double(inside95) / cells, level / cells)
        }
        let plain = try summary(npe), balanced = try summary(bnpe)
        XCTAssertGreaterThan(balanced.variance, plain.variance, "BNPE wider than NPE (NPE \(plain), BNPE \(balanced))")
        XCTAssertGreaterThanOrEqual(balanced.coverage68, plain.coverage68, "68% coverage (NPE \(plain), BNPE \(balanced))")
        XCTAssertGreaterThanOrEqual(balanced.coverage95, plain.coverage95, "95% coverage (NPE \(plain), BNPE \(balanced))")
        XCTAssertLessThan(balanced.level, plain.level, "mean central level of the truth (NPE \(plain), BNPE \(balanced))")
        XCTAssertLessThan(balanced.variance, 0.1, "BNPE still narrower than the prior")
        XCTAssertLessThan(balanced.meanError, 0.1, "BNPE's mean follows x/2")
    }

    /// Jobs stored before the balanced loss existed still decode, and a balanced job
    /// round-trips; the balanced loss is refused for NLE and for a non-positive strength.
    func testJobsCodeAndTheBalancedLossIsCheckedBeforeTraining() throws {
        let prior = PriorSpecification.uniform(low: [-1, -1], high: [1, 1])
        var job = EnsembleMemberJob(method: .npe, estimator: .density(.maf(features: 2, context: 2)), training: TrainingSettings(),
                                    seed: 4, member: 0, memberCount: 1)
        for loss in [PosteriorLoss.maximumLikelihood, .atomic(atoms: 10, prior: prior), .balanced(strength: 100, prior: prior)] {
            job.posteriorLoss = loss
            let decoded = try JSONDecoder().decode(EnsembleMemberJob.self, from: try JSONEncoder().encode(job))
            XCTAssertEqual(decoded, job)
        }
        // How the losses that predate the balanced one were always written.
        let old = try JSONDecoder().decode(PosteriorLoss.self, from: Data(#"{"maximumLikelihood":{}}"#.utf8))
        XCTAssertEqual(old, .maximumLikelihood)
        let atomic = try JSONDecoder().decode(PosteriorLoss.self, from: Data(#"{"atomic":{"atoms":5,"prior":{"uniform":{"low":[-1,-1],"high":[1,1]}}}}"#.utf8))
        XCTAssertEqual(atomic, .atomic(atoms: 5, prior: prior))

        job.posteriorLoss = .balanced(strength: 0, prior: prior)
        XCTAssertThrowsError(try job.validate(thetaDimension: 2, xDimension: 2)) { error in
            XCTAssertTrue("\(error)".contains("positive strength"), "\(error)")
        }
        var nle = EnsembleMemberJob(method: .nle, estimator: .density(.maf(features: 2, context: 2)), training: TrainingSettings(),
                                    seed: 4, member: 0, memberCount: 1)
        nle.posteriorLoss = .balanced(strength: 100, prior: prior)
        XCTAssertThrowsError(try nle.validate(thetaDimension: 2, xDimension: 2)) { error in
            XCTAssertTrue("\(error)".contains("the balanced posterior loss is for NPE"), "\(error)")
        }
    }
}
