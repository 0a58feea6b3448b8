import ILIValidation
import XCTest

/// Highest-density coverage of ensembles, through the code `ili validate` runs on a neural
/// posterior: a `DensityEnsemble` of members inside a `DirectPosterior` on a bounded prior,
/// with members that are exact Gaussians, so that what a calibrated ensemble is, is known.
///
/// A two-moons ensemble (MAF + NSF + MAF) failed highest-density coverage alone, as
/// under-confident, while SBC, TARP and marginal coverage passed. These tests pin down the
/// two readings of that: the ensemble's log-density is the density its samples come from
/// (so nothing is mis-ranked), ranking by a wrong density could not have failed a calibrated
/// posterior anyway, and members that disagree across a thin direction do make a mixture
/// that only the highest-density check sees is too wide.
final class MixtureCoverageTests: XCTestCase {
    /// q(θ | x) = N(x + shift, L Lᵀ) in two dimensions, L lower triangular; `logOffset` is
    /// added to every log-density, to make a member whose density is off by a constant.
    final class GaussianMember: ConditionalDensityEstimator {
        typealias Scalar = Float
        let configuration = DensityEstimatorConfiguration.maf(features: 2, context: 2)
        let parameters: [Parameter<Float>] = []
        var featureStandardization = Standardization<Float>.identity(2)
        var contextStandardization = Standardization<Float>.identity(2)
        let shift: [Double]
        let cholesky: (Double, Double, Double)   // L₀₀, L₁₀, L₁₁
        let logOffset: Double

        init(shift: [Double], cholesky: (Double, Double, Double), logOffset: Double = 0) {
            self.shift = shift
            self.cholesky = cholesky
            self.logOffset = logOffset
        }

        func logProb(_ y: Variable<Float>, context: Variable<Float>) -> Variable<Float> {
            let (a, b, c) = cholesky
            let values = (0..<y.rows).map { i -> Float in
                let r0 = Double(y.value[i, 0]) - Double(context.value[i, 0]) - shift[0]
                let r1 = Double(y.value[i, 1]) - Double(context.value[i, 1]) - shift[1]
                let u0 = r0 / a, u1 = (r1 - b * u0) / c
                return Float(-0.5 * (u0 * u0 + u1 * u1) - Double.log(2 * Double.pi * a * c) + logOffset)
            }
            return y.tape.constant(Matrix(rows: y.rows, cols: 1, values))
        }

        func sample(_ count: Int, context: Matrix<Float>, rng: inout RandomSource) -> Matrix<Float> {
            let (a, b, c) = cholesky
            var values: [Float] = []
            values.reserveCapacity(context.rows * count * 2)
            for i in 0..<context.rows {
                for _ in 0..<count {
                    let z0 = rng.normal(), z1 = rng.normal()
                    values.append(Float(Double(context[i, 0]) + shift[0] + a * z0))
                    values.append(Float(Double(context[i, 1]) + shift[1] + b * z0 + c * z1))
                }
            }
            return Matrix(rows: context.rows * count, cols: 2, values)
        }
    }

    /// The prior's box: bounded, so that sampling rejects and the density is renormalised,
    /// as for a neural posterior on two moons' uniform prior.
    static let prior = try! PriorSpecification.uniform(low: [-3, -3], high: [3, 3]).makePrior()

    /// Two overlapping members of different shapes and weights 0.3 and 0.7.
    static func members(logOffset: Double = 0) -> [GaussianMember] {
        [GaussianMember(shift: [0.6, 0.1], cholesky: (0.5, 0.1, 0.3), logOffset: logOffset),
         GaussianMember(shift: [-0.5, -0.2], cholesky: (0.4, -0.2, 0.5))]
    }
    static let weights = [0.3, 0.7]

    /// Test points: x ~ N(0, 0.8² I) and θ from `members` mixed by `weights` at x, kept only
    /// inside the prior's box: draws of the truncated mixture that the posterior is.
    static func testSet(_ n: Int, members: [GaussianMember], weights: [Double], seed: UInt64)
        -> (theta: Matrix<Double>, x: Matrix<Double>) {
        var rng = RandomSource(seed: seed)
        var theta: [Double] = [], x: [Double] = []
        while x.count < 2 * n {
            let point = [0.8 * rng.normal(), 0.8 * rng.normal()]
            let context = Matrix<Float>(rows: 1, cols: 2, point.map(Float.init))
            while true {
                let member = members[rng.categorical(weights)]
                let draw = member.sample(1, context: context, rng: &rng)
                let value = [Double(draw[0, 0]), Double(draw[0, 1])]
                if value.allSatisfy({ Swift.abs($0) < 3 }) {
                    theta += value
                    x += point
                    break
                }
            }
        }
        return (Matrix(rows: n, cols: 2, theta), Matrix(rows: n, cols: 2, x))
    }

    func report(_ posterior: any Posterior, _ set: (theta: Matrix<Double>, x: Matrix<Double>)) throws -> ValidationReport {
        try ValidationSuite(samplesPerPoint: 400, seed: 9).run(posterior: posterior, theta: set.theta, observations: set.x)
    }

    func check(_ report: ValidationReport, _ name: String) throws -> CheckOutcome {
        try XCTUnwrap(report.verdict.checks.first { $0.name == name })
    }

    /// The exact mixture, sampled and ranked through `DensityEnsemble` and `DirectPosterior`:
    /// calibrated, and every check says so.
    func testExactMixtureEnsembleIsCalibrated() throws {
        let members = Self.members()
        let posterior = DirectPosterior(prior: Self.prior, ensemble: DensityEnsemble(members: members, weights: Self.weights))
        let report = try report(posterior, Self.testSet(400, members: members, weights: Self.weights, seed: 41))
        XCTAssertTrue(report.verdict.passed, report.verdict.rendered)
        let hpd = try XCTUnwrap(report.coverage.highestDensity)
        let worst = zip(hpd, report.coverage.levels).map { Swift.abs($0 - $1) }.max() ?? 1
        // 400 points: the binomial spread at γ = ½ is 0.025.
        XCTAssertLessThan(worst, 0.07, "highest-density coverage \(hpd)")
        XCTAssertLessThan(Swift.abs(report.coverage.meanDeviation), 0.03, report.verdict.rendered)
    }

    /// The ensemble's log-density is the density of its samples: for a box B,
    /// E over samples S of 1{S ∈ B} / q(S) is B's area. A log-density that weighted the
    /// members differently from sampling (or lost a member's normalisation) would be off by
    /// tens of percent in a box around one member.
    func testEnsembleLogProbIsTheDensityOfItsSamples() throws {
        let posterior = DirectPosterior(prior: Self.prior, ensemble: DensityEnsemble(members: Self.members(), weights: Self.weights))
        let x = Matrix(rows: 1, cols: 2, [0.2, -0.1])
        var rng = RandomSource(seed: 3)
        let count = 100_000
        let draws = try posterior.sample(count, observations: x, rng: &rng)
        let logProb = try posterior.logProb(draws, observations: Matrix(rows: count, cols: 2) { _, j in x[0, j] })
        // Boxes around the first (weight 0.3) member, the second, and both.
        for (low, high) in [([0.5, -0.2], [1.1, 0.4]), ([-0.8, -0.7], [-0.2, 0.1]), ([-0.5, -0.5], [0.8, 0.5])] {
            var total = 0.0, squares = 0.0
            for i in 0..<count {
                let inside = (0..<2).allSatisfy { draws[i, $0] >= low[$0] && draws[i, $0] <= high[$0] }
                let term = inside ? Double.exp(-logProb[i]) : 0
                total += term
                squares += term * term
            }
            let mean = total / Double(count)
            let error = ((squares / Double(count) - mean * mean) / Double(count)).squareRoot()
            let area = (high[0] - low[0]) * (high[1] - low[1])
            XCTAssertEqual(mean, area, accuracy: 4 * error + 0.005 * area, "box \(low)–\(high)")
        }
    }

    /// Ranking by a wrong density cannot fail a calibrated posterior: when the truth and the
    /// samples come from one distribution, the fraction of samples ranked above the truth is
    /// uniform whatever the ranking. Here one member's log-density is off by log 9, so the
    /// ensemble ranks by a mixture weighted 0.79/0.21 while sampling 0.3/0.7, and
    /// highest-density coverage still passes. (So a mis-ranking could not have made a
    /// calibrated ensemble fail this check; a failure means the samples are off.)
    func testHighestDensityCoverageStaysCalibratedUnderAWrongRankingDensity() throws {
        let members = Self.members()
        let misranked = Self.members(logOffset: Double.log(9))
        let posterior = DirectPosterior(prior: Self.prior, ensemble: DensityEnsemble(members: misranked, weights: Self.weights))
        let report = try report(posterior, Self.testSet(400, members: members, weights: Self.weights, seed: 41))
        let hpd = try check(report, "coverage-hpd")
        XCTAssertTrue(hpd.passed, hpd.summary)
        XCTAssertLessThan(Swift.abs(report.coverage.meanDeviation), 0.03, hpd.summary)
    }

    /// The two-moons case's mechanism: members that each have the right shape but sit on
    /// either side of the truth across a thin direction. The truth is N(x, Σ) with standard
    /// deviations 1 along (1, 1) and 0.1 across it; the members are N(x ± 0.1·(1, −1)/√2, Σ).
    /// Their mixture is twice as wide as the truth across (variance 0.01 + 0.01) but its
    /// marginals are only 1% wider (0.505 against 0.51): highest-density coverage finds it
    /// under-confident, while SBC and the marginal intervals, which see one parameter at a
    /// time, pass it.
    func testMembersThatDisagreeAcrossAThinDirectionMakeAnUnderConfidentMixture() throws {
        // Σ = R diag(1, 0.01) Rᵀ for R the rotation by 45°: variances 0.505, covariance 0.495.
        let a = 0.505.squareRoot(), b = 0.495 / a, c = (0.505 - b * b).squareRoot()
        let across = 0.1 / 2.0.squareRoot()
        let truth = [GaussianMember(shift: [0, 0], cholesky: (a, b, c))]
        let members = [GaussianMember(shift: [across, -across], cholesky: (a, b, c)),
                       GaussianMember(shift: [-across, across], cholesky: (a, b, c))]
        let set = Self.testSet(400, members: truth, weights: [1], seed: 43)
        let exact = try report(DirectPosterior(prior: Self.prior, ensemble: DensityEnsemble(members: truth, weights: [1])), set)
        XCTAssertTrue(exact.verdict.passed, exact.verdict.rendered)
        let mixed = try report(DirectPosterior(prior: Self.prior, ensemble: DensityEnsemble(members: members, weights: [0.5, 0.5])), set)
        let hpd = try check(mixed, "coverage-hpd")
        XCTAssertFalse(hpd.passed, mixed.verdict.rendered)
        XCTAssertEqual(hpd.direction, .underConfident, hpd.summary)
        XCTAssertGreaterThan(mixed.coverage.meanDeviation, 0.05, hpd.summary)
        XCTAssertTrue(try check(mixed, "coverage-marginal").passed, mixed.verdict.rendered)
        XCTAssertTrue(try check(mixed, "sbc").passed, mixed.verdict.rendered)
    }
}
