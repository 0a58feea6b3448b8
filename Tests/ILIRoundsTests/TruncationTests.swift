import Foundation
import ILIInference
@testable import ILIRounds
import XCTest

final class TruncationTests: XCTestCase {
    /// Truncated sequential NPE must never cut away true posterior mass: on Gaussian linear,
    /// the region kept (the trained posterior's density above its 1e-4 quantile) holds at
    /// least 99.9% of draws from the exact posterior.
    func testTheTruncatedRegionHoldsTheExactPosterior() throws {
        // Noise variance 0.005: a posterior (sd 0.07) much narrower than the prior (sd 0.32).
        let task = GaussianLinear(dimension: 3, priorVariance: 0.1, noiseVariance: 0.005)
        var rng = RandomSource(seed: 11)
        let (theta, x) = task.simulations(3_000, rng: &rng)
        var settings = TrainingSettings()
        settings.maxEpochs = 60
        let result = try NeuralPosteriorEstimation.train(configurations: [.maf(features: 3, context: 3)],
                                                         data: try SimulationDataset(theta: theta, x: x), settings: settings, seed: 4)
        let posterior = DirectPosterior(prior: task.prior, ensemble: result.ensemble)
        for k in 0..<3 {
            var observationRNG = RandomSource(seed: UInt64(100 + k))
            let observation = task.simulate(task.prior.sample(1, rng: &observationRNG), rng: &observationRNG).row(0)
            var thresholdRNG = RandomSource(seed: UInt64(k))
            let region = try TruncatedPriorProposal(prior: task.prior, posterior: posterior, observation: observation,
                                                    quantile: 1e-4, rng: &thresholdRNG)
            let exact = try task.referencePosterior(20_000, observation: observation, rng: &observationRNG)
            let outside = try region.contains(exact).filter { !$0 }.count
            XCTAssertLessThanOrEqual(outside, 20, "observation \(k): \(outside) of 20,000 exact posterior draws fall outside the truncated region")
            // And the region is a real restriction: most prior draws fall outside it.
            let priorDraws = task.prior.sample(5_000, rng: &observationRNG)
            XCTAssertLessThan(try region.contains(priorDraws).filter { $0 }.count, 2_500, "observation \(k)")
        }
    }

    func testDrawsFromTheTruncatedPriorLieInsideTheRegionAndFollowThePrior() throws {
        // A posterior equal to the prior truncated to a box is easy to check: use the exact
        // Gaussian posterior of a 1-D Gaussian linear task as the "trained" posterior.
        let task = GaussianLinear(dimension: 1, priorVariance: 1, noiseVariance: 1)
        let posterior = GaussianPosterior(task: task)
        var rng = RandomSource(seed: 3)
        let region = try TruncatedPriorProposal(prior: task.prior, posterior: posterior, observation: [0.4], quantile: 0.05, rng: &rng)
        let draws = try region.draw(4_000, rng: &rng)
        XCTAssertTrue(try region.contains(draws).allSatisfy { $0 })
        // The 95% highest-density interval of N(0.2, 0.5) is [−1.186, 1.586]; inside it the draws
        // follow the prior N(0, 1), whose mean there is (φ(a) − φ(b)) / (Φ(b) − Φ(a)) = 0.101
        // (a uniform draw on the interval would average 0.2; the posterior itself, 0.2).
        let values = draws.storage
        let mean = values.reduce(0, +) / Double(values.count)
        XCTAssertEqual(values.min()!, -1.186, accuracy: 0.05)
        XCTAssertEqual(values.max()!, 1.586, accuracy: 0.05)
        XCTAssertEqual(mean, 0.101, accuracy: 0.04)
    }
}
