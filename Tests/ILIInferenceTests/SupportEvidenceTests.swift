import Foundation
import ILIInference
import XCTest

/// The draws a direct posterior makes while sampling count towards its estimate of the
/// mass inside the prior's support, so a log-density at an observation just sampled needs
/// no new draws; the estimate stays right.
final class SupportEvidenceTests: XCTestCase {
    /// An estimator that counts the rows it is asked to draw.
    final class CountingEstimator: ConditionalDensityEstimator {
        let base: any ConditionalDensityEstimator<Float>
        var drawnRows = 0

        init(_ base: any ConditionalDensityEstimator<Float>) { self.base = base }

        var configuration: DensityEstimatorConfiguration { base.configuration }
        var parameters: [Parameter<Float>] { base.parameters }
        var featureStandardization: Standardization<Float> {
            get { base.featureStandardization }
            set { base.featureStandardization = newValue }
        }
        var contextStandardization: Standardization<Float> {
            get { base.contextStandardization }
            set { base.contextStandardization = newValue }
        }
        func logProb(_ y: Variable<Float>, context: Variable<Float>) -> Variable<Float> { base.logProb(y, context: context) }
        func sample(_ count: Int, context: Matrix<Float>, rng: inout RandomSource) -> Matrix<Float> {
            drawnRows += count * context.rows
            return base.sample(count, context: context, rng: &rng)
        }
    }

    /// An untrained 1-D MAF given a 1-D x, under a narrow uniform prior: much of its mass
    /// falls outside the support.
    func makePosterior() throws -> (DirectPosterior, CountingEstimator) {
        var rng = RandomSource(seed: 1)
        let flow = try makeDensityEstimator(DensityEstimatorConfiguration(kind: .maf, featureCount: 1, contextCount: 1),
                                            rng: &rng, as: Float.self)
        let counting = CountingEstimator(flow)
        let prior = try PriorSpecification.uniform(low: [-0.5], high: [1.0]).makePrior()
        return (DirectPosterior(prior: prior, ensemble: DensityEnsemble(members: [counting], weights: [1])), counting)
    }

    func testSamplingDrawsServeTheSupportEstimate() throws {
        let (posterior, counting) = try makePosterior()
        var rng = RandomSource(seed: 2)
        _ = try posterior.sample(20_000, observations: Matrix([[0.3]]), rng: &rng)
        let samplingDraws = counting.drawnRows
        XCTAssertGreaterThan(samplingDraws, posterior.leakageSampleCount)
        let estimate = try posterior.acceptance(of: [0.3])
        XCTAssertEqual(counting.drawnRows, samplingDraws, "the estimate drew again although sampling had drawn enough")

        // The same as a fresh estimate from 200,000 draws of its own, within its error.
        let (reference, referenceCounting) = try makePosterior()
        reference.leakageSampleCount = 200_000
        reference.leakageRelativeError = 0.001
        let expected = try reference.acceptance(of: [0.3])
        XCTAssertGreaterThan(referenceCounting.drawnRows, 0)
        XCTAssertLessThan(expected, 0.9, "the test needs mass outside the support")
        let standardError = (expected * (1 - expected) / Double(samplingDraws)).squareRoot()
        XCTAssertEqual(estimate, expected, accuracy: 4 * standardError)
    }

    func testWithoutSamplingTheEstimateDrawsItsOwn() throws {
        let (posterior, counting) = try makePosterior()
        _ = try posterior.acceptance(of: [0.3])
        XCTAssertGreaterThanOrEqual(counting.drawnRows, 1000)
    }
}
