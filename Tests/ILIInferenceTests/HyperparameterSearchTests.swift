import ILINets
@testable import ILIInference
import ILITensor
import XCTest

/// `inference.search`: the space as written, the trials drawn from it, and successive halving.
final class HyperparameterSearchTests: XCTestCase {
    func specification(_ yaml: String, parameters: Int = 2) throws -> InferenceSpecification {
        try InferenceSpecification.parse(ConfigNode.parse(yaml: yaml, source: "test.yaml"), parameterCount: parameters)
    }

    func testBadSearchesNameTheirKey() throws {
        let cases: [(String, String, String)] = [
            ("{method: npe, estimators: [{model: maf}], search: {space: {model: [maf]}}}", "estimators", "not both"),
            ("{method: npe, search: {keep: 5, trials: 3, space: {model: [maf, nsf], hidden_features: [20, 30]}}}", "search.keep", "only 3 trials"),
            ("{method: npe, search: {strategy: grid, trials: 3, space: {model: [maf]}}}", "search.trials", "every point"),
            ("{method: npe, search: {space: {hidden_features: [20, 30]}}}", "search.space", "needs 'model'"),
            ("{method: npe, search: {space: {model: [maf], hidden_features: []}}}", "search.space.hidden_features", "at least one value"),
            ("{method: npe, search: {space: {model: [maf], hidden_features: [[1, 2]]}}}", "search.space.hidden_features[0]", "single value"),
            ("{method: npe, search: {space: {model: [maf]}, rounds: 3}}", "search.rounds", "unknown key"),
        ]
        for (yaml, keyPath, message) in cases {
            XCTAssertThrowsError(try specification(yaml), yaml) { error in
                let e = error as? ConfigError
                XCTAssertEqual(e?.keyPath, keyPath, yaml)
                XCTAssertTrue(e?.message.contains(message) == true, "\(yaml): \(String(describing: e?.message))")
            }
        }
        // Values are checked when the trials are built, against the estimator's own keys.
        let bad = try specification("{method: npe, search: {space: {model: [maf, nsf], num_bins: [4], learning_rate: [2]}}}")
        XCTAssertThrowsError(try bad.searchTrials(thetaDimension: 2, xDimension: 2, seed: 1, training: TrainingSettings())) { error in
            XCTAssertEqual((error as? ConfigError)?.keyPath, "search.space.learning_rate[0]")
        }
        let unknown = try specification("{method: npe, search: {space: {model: [maf], num_layers: [4]}}}")
        XCTAssertThrowsError(try unknown.searchTrials(thetaDimension: 2, xDimension: 2, seed: 1, training: TrainingSettings())) { error in
            XCTAssertEqual((error as? ConfigError)?.keyPath, "search.space.num_layers")
        }
        // A search has no fixed members for commands that need them.
        XCTAssertThrowsError(try unknown.memberEstimators(thetaDimension: 2, xDimension: 2))
    }

    /// A configuration naming no estimators gets the measured default set (NPE) or sbi's (NLE, NRE).
    func testNoEstimatorsMeansTheDefaults() throws {
        let npe = try specification("{method: npe}").memberEstimators(thetaDimension: 2, xDimension: 3)
        XCTAssertEqual(npe.count, 2)
        for member in npe {
            guard case .density(let c) = member else { return XCTFail("a density") }
            XCTAssertEqual(c.kind, .nsf)
        }
        guard case .density(let nle) = try specification("{method: nle}").memberEstimators(thetaDimension: 2, xDimension: 3).first else {
            return XCTFail("a density")
        }
        XCTAssertEqual(nle.kind, .maf)
        XCTAssertEqual(nle.featureCount, 3, "NLE models x")
        XCTAssertEqual(try specification("{method: nre}").memberEstimators(thetaDimension: 2, xDimension: 3).count, 1)
        XCTAssertThrowsError(try specification("{method: npe, estimators: []}")) { error in
            XCTAssertEqual((error as? ConfigError)?.keyPath, "estimators")
        }
    }

    func testGridAndRandomTrials() throws {
        let grid = try specification("{method: npe, search: {strategy: grid, keep: 2, space: {model: [maf, nsf], hidden_features: [20, 30, 40], batch_size: 64}}}")
        let trials = try grid.searchTrials(thetaDimension: 2, xDimension: 2, seed: 1, training: TrainingSettings())
        XCTAssertEqual(trials.count, 6)
        XCTAssertEqual(trials.map(\.trial.description), [
            "model=maf hidden_features=20 batch_size=64", "model=maf hidden_features=30 batch_size=64", "model=maf hidden_features=40 batch_size=64",
            "model=nsf hidden_features=20 batch_size=64", "model=nsf hidden_features=30 batch_size=64", "model=nsf hidden_features=40 batch_size=64",
        ])
        guard case .density(let c) = trials[4].estimator else { return XCTFail("a density") }
        XCTAssertEqual(c.kind, .nsf)
        XCTAssertEqual(c.hiddenFeatures, 30)
        XCTAssertEqual(trials[4].trial.training.batchSize, 64)
        XCTAssertEqual(grid.memberCount, 2)

        let random = try specification("{method: npe, search: {trials: 5, space: {model: [maf, nsf, mdn], hidden_features: [20, 30, 40], learning_rate: [1e-4, 1e-3]}}}")
        let a = try random.searchTrials(thetaDimension: 2, xDimension: 2, seed: 7, training: TrainingSettings()).map(\.trial.description)
        let b = try random.searchTrials(thetaDimension: 2, xDimension: 2, seed: 7, training: TrainingSettings()).map(\.trial.description)
        let c2 = try random.searchTrials(thetaDimension: 2, xDimension: 2, seed: 8, training: TrainingSettings()).map(\.trial.description)
        XCTAssertEqual(a, b, "the seed fixes the trials")
        XCTAssertNotEqual(a, c2)
        XCTAssertEqual(Set(a).count, 5, "no point is tried twice")
        // More trials than points: the whole space, once.
        let small = try specification("{method: npe, search: {trials: 50, space: {model: [maf, nsf], learning_rate: [1e-4, 1e-3]}}}")
        XCTAssertEqual(Set(try small.searchTrials(thetaDimension: 2, xDimension: 2, seed: 1, training: TrainingSettings()).map(\.trial.description)).count, 4)
    }

    /// Trials whose learning rate is far too small cannot learn in the first rung and stop
    /// there; the kept ones are the learners, best first, and the search is the same at one
    /// and two threads.
    func testHalvingStopsTrialsThatAreBehindAndKeepsTheBest() throws {
        let task = GaussianLinear(dimension: 2)
        var rng = RandomSource(seed: 3)
        let (theta, x) = task.simulations(2000, rng: &rng)
        let data = try SimulationDataset(theta: theta, x: x)
        let spec = try specification("""
            {method: npe, search: {strategy: grid, keep: 2, rung_epochs: 4, reduction: 2,
             space: {model: [mdn], hidden_features: [16, 24], learning_rate: [1e-8, 3e-3], batch_size: [100]}}}
            """)
        var base = TrainingSettings()
        base.maxEpochs = 40
        let trials = try spec.searchTrials(thetaDimension: 2, xDimension: 2, seed: 1, training: base)
        func search(threads: Int) throws -> HyperparameterSearch.Result {
            try RowParallelism.withWidth(threads) {
                try HyperparameterSearch.run(trials.map(\.trial), space: spec.search!, estimators: trials.map(\.estimator),
                                             method: .npe, seed: 5, data: data)
            }
        }
        let result = try search(threads: 2)
        let slow = result.records.filter { $0.choices.contains(.init(key: "learning_rate", value: "1e-8")) }
        let fast = result.records.filter { $0.choices.contains(.init(key: "learning_rate", value: "3e-3")) }
        XCTAssertEqual(slow.count, 2)
        for r in slow {
            XCTAssertEqual(r.stoppedAfterRung, 0, "trial \(r.index) could not learn and stops after the first rung")
            XCTAssertEqual(r.epochs, 4)
            XCTAssertNil(r.member)
        }
        XCTAssertEqual(Set(fast.compactMap(\.member)), [0, 1], "the learners are the ensemble")
        XCTAssertTrue(fast.allSatisfy { $0.epochs > 4 && $0.finalScore > slow.map(\.finalScore).max()! + 0.5 })
        XCTAssertEqual(result.members.count, 2)
        XCTAssertGreaterThanOrEqual(result.members[0].summary.bestValidationScore, result.members[1].summary.bestValidationScore)
        XCTAssertEqual(result.weights.reduce(0, +), 1, accuracy: 1e-9)
        // The kept ensemble learned the posterior: its mean at x = (0.4, −0.2) is x/2.
        let posterior = DirectPosterior(prior: task.prior, ensemble: DensityEnsemble(members: result.members.map {
            guard case .density(let d) = $0.model else { fatalError() }
            return d
        }, weights: result.weights))
        var sampling = RandomSource(seed: 9)
        let draws = try posterior.sample(4000, observations: Matrix([[0.4, -0.2]]), rng: &sampling)
        for (j, expected) in [0.2, -0.1].enumerated() {
            XCTAssertEqual((0..<draws.rows).map { draws[$0, j] }.reduce(0, +) / Double(draws.rows), expected, accuracy: 0.03)
        }

        let again = try search(threads: 1)
        XCTAssertEqual(again.records, result.records.map { var r = $0; r.seconds = again.records[$0.index].seconds; return r })
    }

    /// The decisions alone, fed by hand: a trial whose rung beats nothing keeps its earlier
    /// network and score, and the last survivor trains until it converges.
    func testSuccessiveHalvingDecidesFromScoresAlone() {
        let records = (0..<4).map { HyperparameterSearch.TrialRecord(index: $0, choices: [], scores: [], epochs: 0, seconds: 0) }
        var halving = SuccessiveHalving(trials: records, maxEpochs: [nil, nil, nil, 3], keep: 1, rungEpochs: 2, reduction: 2)
        func result(_ score: Double, epochs: Int = 2, converged: Bool = false) -> SuccessiveHalving.Result {
            .init(score: score, epochs: epochs, seconds: 0.1, converged: converged)
        }
        XCTAssertEqual(halving.next, .init(index: 0, trials: [0, 1, 2, 3], epochs: 2))
        halving.trained([0: result(1), 1: result(4), 2: result(3), 3: result(2)])
        XCTAssertEqual(halving.next, .init(index: 1, trials: [1, 2], epochs: 4))
        halving.trained([1: result(5, epochs: 4), 2: result(2.5, epochs: 4)])
        XCTAssertEqual(halving.records[2].scores, [3, 3], "a rung that beat nothing keeps the earlier score")
        XCTAssertEqual(halving.networkRung[2], 0, "and the earlier network")
        XCTAssertEqual(halving.networkRung[1], 1)
        XCTAssertEqual(halving.next, .init(index: 2, trials: [1], epochs: nil))
        halving.trained([1: result(6, epochs: 7, converged: true)])
        XCTAssertNil(halving.next)
        XCTAssertEqual(halving.kept, [1])
        XCTAssertEqual(halving.records.map(\.member), [nil, 0, nil, nil])
        XCTAssertEqual(halving.records.map(\.stoppedAfterRung), [0, nil, 1, 0])
        XCTAssertEqual(halving.records[1].epochs, 13)
        XCTAssertEqual(halving.weights, [1])

        // A trial's max_epochs counts over all its rungs: the last one trains what is left.
        var limited = SuccessiveHalving(trials: Array(records.prefix(2)), maxEpochs: [5, 5], keep: 1, rungEpochs: 2, reduction: 2)
        let first = limited.next!
        XCTAssertEqual(limited.epochs(for: 0, in: first), 2)
        limited.trained([0: result(1), 1: result(2)])
        let last = limited.next!
        XCTAssertNil(last.epochs)
        XCTAssertEqual(limited.epochs(for: 1, in: last), 3, "5 in all, 2 of them in rung 0")
        XCTAssertNil(halving.epochs(for: 0, in: .init(index: 0, trials: [0], epochs: nil)), "no limit: until it converges")
    }
}
