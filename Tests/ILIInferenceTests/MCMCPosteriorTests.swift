import Foundation
@testable import ILIInference
import ILINets
import XCTest

/// The MCMC posterior's own machinery, with networks whose answers are known exactly.
final class MCMCPosteriorTests: XCTestCase {
    /// A classifier whose every weight is zero: its logit is 0 for every pair, so the
    /// posterior is the prior.
    func flatClassifier(parameters: Int, data: Int) -> RatioClassifier<Float> {
        var rng = RandomSource(seed: 1)
        let classifier = RatioClassifier<Float>(configuration: ClassifierConfiguration(parameterCount: parameters, dataCount: data), rng: &rng)
        for p in classifier.parameters { p.value = Matrix(rows: p.value.rows, cols: p.value.cols, repeating: 0) }
        return classifier
    }

    /// With a flat ratio the samplers must return the prior. They run in the unconstrained
    /// space (logit for the box, log for the log-normal), so a missing or wrong Jacobian
    /// shows at once: without it the box coordinate's density would be ∝ 1/(θ(1−θ)) and
    /// pile up at the edges. U(0, 1) has mean 1/2 and variance 1/12; LogNormal(0, 0.5²) has
    /// mean e^0.125 = 1.133 and variance (e^0.25 − 1)e^0.25 = 0.365. With 4,000 draws and
    /// an ESS in the thousands the Monte Carlo error is about 0.005 on the uniform mean and
    /// 3% on its variance, a few times that for the skewed log-normal: bounds are 0.02 and
    /// 10% for the uniform, 0.06 and 20% for the log-normal.
    func testAFlatRatioGivesThePriorThroughTheUnconstrainedSpace() throws {
        let spec = PriorSpecification.independent([.uniform(low: [0], high: [1]), .logNormal(mean: [0], std: [0.5])])
        let prior = try spec.makePrior()
        let ensemble = RatioEnsemble(members: [flatClassifier(parameters: 2, data: 1)], weights: [1])
        for kind in [SamplerKind.slice, .ensemble] {
            var settings = SamplerSettings()
            settings.kind = kind
            let posterior = MCMCPosterior(prior: prior, model: .ratio(ensemble), sampler: settings)
            posterior.warn = { _ in }
            var rng = RandomSource(seed: 5)
            let samples = try posterior.sample(4000, observations: Matrix([[0.3]]), rng: &rng)
            func moments(_ j: Int) -> (Double, Double) {
                let c = (0..<samples.rows).map { samples[$0, j] }
                let m = c.reduce(0, +) / Double(c.count)
                return (m, c.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(c.count - 1))
            }
            let (m0, v0) = moments(0), (m1, v1) = moments(1)
            XCTAssertTrue((0..<samples.rows).allSatisfy { samples[$0, 0] > 0 && samples[$0, 0] < 1 && samples[$0, 1] > 0 }, "\(kind): inside the support")
            XCTAssertEqual(m0, 0.5, accuracy: 0.02, "\(kind): uniform mean")
            XCTAssertEqual(v0, 1.0 / 12, accuracy: 0.1 / 12, "\(kind): uniform variance")
            XCTAssertEqual(m1, exp(0.125), accuracy: 0.06, "\(kind): log-normal mean")
            XCTAssertEqual(v1, (exp(0.25) - 1) * exp(0.25), accuracy: 0.2 * (exp(0.25) - 1) * exp(0.25), "\(kind): log-normal variance")
        }
    }

    /// The network term is evaluated in fixed 512-row blocks spread over the row threads:
    /// the blocks come back in row order, and any thread count draws the same bits.
    func testNetworkBlocksKeepRowOrderAndTheSameDrawsAtAnyThreadCount() throws {
        var rng = RandomSource(seed: 8)
        let classifier = RatioClassifier<Float>(configuration: ClassifierConfiguration(parameterCount: 2, dataCount: 2), rng: &rng)
        let ensemble = RatioEnsemble(members: [classifier], weights: [1])
        let prior = try PriorSpecification.uniform(low: [-1, -1], high: [1, 1]).makePrior()
        var settings = SamplerSettings()
        settings.chains = 300
        settings.warmup = 20
        let posterior = MCMCPosterior(prior: prior, model: .ratio(ensemble), sampler: settings)
        posterior.warn = { _ in }
        let theta = prior.sample(1300, rng: &rng), x = prior.sample(1300, rng: &rng)
        let whole = ensemble.logRatio(theta: theta.converted(to: Float.self), x: x.converted(to: Float.self))
        let blocked = RowParallelism.withWidth(2) { posterior.networkTerm(theta: theta, observations: x) }
        XCTAssertEqual(blocked.count, 1300)
        for (a, b) in zip(whole, blocked) { XCTAssertEqual(a, b, accuracy: 1e-4) }
        XCTAssertGreaterThan(Set(whole.map { Float($0) }).count, 1000, "the logits differ from row to row")

        func draws(width: Int) throws -> [Double] {
            var rng = RandomSource(seed: 4)
            return try RowParallelism.withWidth(width) {
                try posterior.sample(600, observations: Matrix([[0.2, -0.1], [0.5, 0.5]]), rng: &rng).storage
            }
        }
        let one = try draws(width: 1)
        XCTAssertEqual(try draws(width: 2), one)
        XCTAssertEqual(try draws(width: 3), one)
    }

    /// A large sample runs one chain per 100 draws (so that a multimodal posterior's mode
    /// weights rest on many starts), a validation-sized one keeps 20, and a chain count set
    /// without a draws-per-chain limit is run as set; the setting survives its JSON form.
    func testLargeSamplesRunMoreChains() throws {
        var settings = SamplerSettings()
        XCTAssertEqual([1, 1000, 2000, 2001, 10_000, 10_000_000].map(settings.chains(forDraws:)), [20, 20, 20, 21, 100, 1000])
        var walkers = SamplerSettings()
        walkers.kind = .ensemble
        XCTAssertEqual(walkers.chains(forDraws: 10_000), 20, "the ensemble sampler's walkers can cross between modes")
        settings.maxDrawsPerChain = nil
        XCTAssertEqual(settings.chains(forDraws: 10_000), 20)
        let decoded = try JSONDecoder().decode(SamplerSettings.self, from: JSONEncoder().encode(settings))
        XCTAssertNil(decoded.maxDrawsPerChain, "no limit stays no limit")
        XCTAssertEqual(try JSONDecoder().decode(SamplerSettings.self, from: Data(#"{"chains": 20}"#.utf8)).maxDrawsPerChain, 100,
                       "settings stored before the limit existed take the default")
        settings.maxDrawsPerChain = 0
        XCTAssertThrowsError(try settings.validate())

        let prior = try PriorSpecification.uniform(low: [-1, -1], high: [1, 1]).makePrior()
        let model = MCMCPosterior.Model.ratio(RatioEnsemble(members: [flatClassifier(parameters: 2, data: 2)], weights: [1]))
        var asSet = SamplerSettings()
        asSet.chains = 8
        asSet.maxDrawsPerChain = nil
        for (sampler, draws, chains) in [(SamplerSettings(), 10_000, 100), (SamplerSettings(), 1_000, 20), (asSet, 10_000, 8)] {
            let posterior = MCMCPosterior(prior: prior, model: model, sampler: sampler)
            posterior.warn = { _ in }
            var rng = RandomSource(seed: 2)
            XCTAssertEqual(try posterior.sample(draws, observations: Matrix([[0.0, 0.0]]), rng: &rng).rows, draws)
            XCTAssertEqual(posterior.lastDiagnostics.first??.chains, chains, "\(draws) draws")
        }
    }

    /// Chains start at distinct points even when one candidate dominates the weights, so
    /// the ensemble sampler's walkers can move apart.
    func testChainStartsAreDistinct() throws {
        let prior = try PriorSpecification.uniform(low: [-1, -1], high: [1, 1]).makePrior()
        let posterior = MCMCPosterior(prior: prior, model: .ratio(RatioEnsemble(members: [flatClassifier(parameters: 2, data: 2)], weights: [1])))
        posterior.initialCandidates = 200
        var rng = RandomSource(seed: 3)
        let starts = posterior.initialStates(observations: Matrix([[0.0, 0.0], [0.5, 0.5]]), chains: 20, rng: &rng)
        XCTAssertEqual(starts.rows, 40)
        for g in 0..<2 {
            let rows = Set((g * 20..<(g + 1) * 20).map { starts.row($0) })
            XCTAssertEqual(rows.count, 20, "observation \(g): 20 distinct starts")
        }
    }

    /// NLE and NRE posteriors survive the posterior directory: θ 2 wide and x 3 wide, so a
    /// swap of features and context could not go unnoticed, and the sampler settings and
    /// the NRE variant are kept.
    func testNLEAndNREDirectoriesRoundTrip() throws {
        var rng = RandomSource(seed: 8)
        let theta = Matrix<Double>(rows: 400, cols: 2) { _, _ in rng.uniform(in: -1.0, 1.0) }
        let x = Matrix<Double>(rows: 400, cols: 3) { i, j in theta[i, j % 2] + 0.2 * rng.normal() }
        let data = try SimulationDataset(theta: theta, x: x)
        var training = TrainingSettings()
        training.maxEpochs = 2
        let spec = PriorSpecification.uniform(low: [-1, -1], high: [1, 1])
        var sampler = SamplerSettings()
        sampler.kind = .ensemble
        sampler.chains = 12
        let probe = Matrix<Double>([[0.2, -0.4], [0.5, 0.1]]), obs = Matrix<Double>([[0.1, -0.3, 0.2], [0.4, 0.0, 0.5]])
        for method in ["nle", "nre"] {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ili-mcmc-archive-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let original: MCMCPosterior
            if method == "nle" {
                let result = try NeuralLikelihoodEstimation.train(configurations: [.maf(features: 3, context: 2), .mdn(features: 3, context: 2)],
                                                                  data: data, settings: training, seed: 2)
                try PosteriorArchive.write(nle: result, sampler: sampler, prior: spec, experiment: "t", to: directory)
                original = MCMCPosterior(prior: try spec.makePrior(), model: .likelihood(result.ensemble), sampler: sampler)
            } else {
                let result = try NeuralRatioEstimation.train(configurations: [ClassifierConfiguration(parameterCount: 2, dataCount: 3),
                                                                              ClassifierConfiguration(architecture: .mlp, parameterCount: 2, dataCount: 3)],
                                                             data: data, ratio: .init(variant: .c), settings: training, seed: 2)
                try PosteriorArchive.write(nre: result, sampler: sampler, prior: spec, experiment: "t", to: directory)
                original = MCMCPosterior(prior: try spec.makePrior(), model: .ratio(result.ensemble), sampler: sampler)
                let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/posterior.json"))) as! [String: Any]
                XCTAssertEqual((manifest["ratio"] as? [String: Any])?["variant"] as? String, "c")
            }
            let loaded = try XCTUnwrap(try loadPosterior(from: directory) as? MCMCPosterior, method)
            XCTAssertEqual(loaded.sampler, sampler, method)
            XCTAssertEqual(loaded.thetaDimension, 2)
            XCTAssertEqual(loaded.xDimension, 3)
            let a = try original.logProb(probe, observations: obs), b = try loaded.logProb(probe, observations: obs)
            for i in 0..<2 { XCTAssertEqual(a[i], b[i], accuracy: 1e-9, "\(method): log-prob \(i)") }
        }
    }

    /// NRE-B members cannot be mixed (each logit carries its own function of x), so an
    /// ensemble of them is refused with a message that says what to do.
    func testNREBEnsemblesAreRefused() throws {
        var rng = RandomSource(seed: 9)
        let theta = Matrix<Double>(rows: 50, cols: 1) { _, _ in rng.uniform(in: 0.0, 1.0) }
        let data = try SimulationDataset(theta: theta, x: theta)
        let configuration = ClassifierConfiguration(parameterCount: 1, dataCount: 1)
        XCTAssertThrowsError(try NeuralRatioEstimation.train(configurations: [configuration, configuration], data: data,
                                                             ratio: .init(variant: .b), settings: TrainingSettings(), seed: 1)) { error in
            XCTAssertTrue("\(error)".contains("variant a, c or bnre"), "\(error)")
        }
    }
}
