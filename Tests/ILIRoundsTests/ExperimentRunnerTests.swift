import Foundation
import ILIInference
import ILIRegistry
@testable import ILIRounds
import XCTest

/// Whole experiments through `ExperimentRunner` on SQLite: what they record, how they resume.
final class ExperimentRunnerTests: RoundsTestCase {
    func twoMoons(_ rounds: String, method: String = "npe", estimators: String = "[{model: maf, hidden_features: 20, num_transforms: 2}]",
                  extra: String = "") throws -> ExperimentConfiguration {
        try configuration("""
            experiment: moons
            simulator: two_moons
            inference: {method: \(method), estimators: \(estimators)}
            rounds: \(rounds)
            \(Self.quickTraining)
            \(extra)
            """)
    }

    func testAnAmortizedRunRecordsEveryStepAndItsPosteriorSamplesLikeTheExport() throws {
        let config = try twoMoons("{count: 1, simulations_per_round: 300}", estimators: "[{model: maf, hidden_features: 20, num_transforms: 2}, {model: mdn, hidden_features: 20}]")
        let runner = try ExperimentRunner.prepare(config)
        let summary = try runner.run()
        XCTAssertEqual(summary.roundsDone, 1)
        XCTAssertNil(summary.stoppedBecause)
        let registry = runner.registry
        let rounds = try registry.rounds(experiment: "moons")
        XCTAssertEqual(rounds.map(\.status), [.done])
        XCTAssertEqual(rounds[0].validSimulations, 300)
        XCTAssertEqual(rounds[0].validTestSimulations, 30)
        XCTAssertEqual(rounds[0].strategy, "prior")
        XCTAssertEqual(try registry.storedTaskIds(round: rounds[0].id).count, 330)
        let jobs = try registry.trainingJobs(round: rounds[0].id)
        XCTAssertEqual(jobs.map(\.status), [.done, .done])
        XCTAssertEqual(try registry.modelVersions(experiment: "moons").count, 2)
        let posterior = try XCTUnwrap(try registry.posteriors(round: rounds[0].id).last)
        XCTAssertEqual(posterior.members.count, 2)
        let results = try registry.validationResults(posterior: posterior.id)
        let verdict = try XCTUnwrap(results.last)
        XCTAssertEqual(verdict.metric, "verdict")
        XCTAssertEqual(Set(results.dropLast().map(\.metric)), ["sbc", "coverage-hpd", "coverage-marginal", "tarp"])
        // Calibrated exactly when the stored verdict passed, and through it.
        XCTAssertEqual(posterior.calibrated, verdict.passed)
        if posterior.calibrated { XCTAssertEqual(posterior.calibratedBy, verdict.id) }

        // The round's directory is the registry's posterior: same samples from both.
        let directory = try XCTUnwrap(summary.latestDirectory)
        let fromDirectory = try loadPosterior(from: directory)
        let fromRegistry = try RegistryArchives.posterior(registry, id: posterior.id)
        let xo = Matrix<Double>([[0.0, 0.0]])
        var r1 = RandomSource(seed: 5), r2 = RandomSource(seed: 5)
        XCTAssertEqual(try fromDirectory.sample(200, observations: xo, rng: &r1), try fromRegistry.sample(200, observations: xo, rng: &r2))
        for file in ["posterior.json", "training.json", "validation.json", "members/0.safetensors", "members/1.safetensors", "coverage.svg"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: directory + "/" + file), file)
        }
        let manifest = try PosteriorArchive.read(from: directory).manifest
        XCTAssertEqual(manifest.posterior, posterior.id.rawValue)
        XCTAssertEqual(manifest.members.map(\.modelVersion), posterior.members.map(\.modelVersion.rawValue))
    }

    func testSameSeedSameThetasSameXsSamePosterior() throws {
        func runOnce(_ name: String) throws -> (theta: [Float], x: [Float], samples: Matrix<Double>) {
            let config = try configuration("""
                experiment: moons
                simulator: two_moons
                registry: sqlite:\(name).db
                out: \(name)
                inference: {method: npe, estimators: [{model: maf, hidden_features: 20, num_transforms: 2}]}
                rounds: {count: 1, simulations_per_round: 200}
                \(Self.quickTraining)
                """, name: "\(name).yaml")
            let runner = try ExperimentRunner.prepare(config)
            let summary = try runner.run()
            let data = try runner.registry.trainingData(experiment: "moons", rounds: 0...0)
            var rng = RandomSource(seed: 1)
            let samples = try RegistryArchives.posterior(runner.registry, id: try XCTUnwrap(summary.latestPosterior))
                .sample(100, observations: Matrix([[0.1, 0.2]]), rng: &rng)
            return (data.theta, data.x, samples)
        }
        let a = try runOnce("a"), b = try runOnce("b")
        XCTAssertEqual(a.theta, b.theta)
        XCTAssertEqual(a.x, b.x)
        XCTAssertEqual(a.samples, b.samples)
    }

    func testAStoppedRunResumesWithoutSimulatingAnythingTwice() throws {
        let config = try twoMoons("{count: 2, simulations_per_round: 1200}")
        let stop = StopSignal()
        let observer = RecordingObserver(stop: stop)
        observer.stopAfterSimulationCalls = 1
        let first = try ExperimentRunner.prepare(config, observer: observer, stop: stop)
        let stopped = try first.run()
        XCTAssertEqual(stopped.roundsDone, 0)
        XCTAssertNotNil(stopped.stoppedBecause)
        let partial = try first.registry.rounds(experiment: "moons")[0]
        XCTAssertEqual(partial.status, .simulating)
        XCTAssertEqual(partial.validSimulations, 500, "one committed batch of the in-process simulator")
        first.registry.close()

        // Stop again during training, then finish.
        let stop2 = StopSignal()
        let observer2 = RecordingObserver(stop: stop2)
        observer2.stopAfterEpochs = 2
        let second = try ExperimentRunner.prepare(config, observer: observer2, stop: stop2)
        XCTAssertTrue(second.resumed)
        XCTAssertNotNil(try second.run().stoppedBecause)
        XCTAssertEqual(try second.registry.rounds(experiment: "moons")[0].status, .training)
        second.registry.close()

        let third = try ExperimentRunner.prepare(config)
        let done = try third.run()
        XCTAssertEqual(done.roundsDone, 2)
        for round in try third.registry.rounds(experiment: "moons") {
            XCTAssertEqual(round.validSimulations + round.invalidSimulations, 1200, "round \(round.index)")
            XCTAssertEqual(round.validTestSimulations, 30)
            XCTAssertEqual(try third.registry.trainingJobs(round: round.id).map(\.status), [.done])
        }
        // The interrupted round's first batch was kept: its task ids are the first 500 and were not redone.
        let data = try third.registry.trainingData(experiment: "moons", rounds: 0...0)
        XCTAssertEqual(data.count, 1200)
    }

    func testAResumedRunRefusesADifferentConfiguration() throws {
        _ = try ExperimentRunner.prepare(try twoMoons("{count: 1, simulations_per_round: 200}"))
        let changed = try twoMoons("{count: 1, simulations_per_round: 300}")
        XCTAssertThrowsError(try ExperimentRunner.prepare(changed)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("different configuration") && text.contains("rounds:") && text.contains("200 per round"), text)
        }
        // More rounds of the same experiment are fine.
        XCTAssertNoThrow(try ExperimentRunner.prepare(try twoMoons("{count: 3, simulations_per_round: 200}")))
    }

    /// Three simulator processes finish their batches in a different order each run; the
    /// pairs are read in task order, so the same seed trains the same posterior.
    func testAPoolFinishingInAnyOrderTrainsTheSamePosterior() throws {
        try writePythonSimulator(to: path("sim.py"), jitter: true)
        func runOnce(_ name: String) throws -> (theta: [Float], x: [Float], samples: Matrix<Double>) {
            let config = try configuration("""
                experiment: pool
                simulator: {exec: 'python3 sim.py', workers: 3, batch_size: 5, timeout: 60}
                prior: {uniform: {low: [-1, -1], high: [1, 1]}}
                registry: sqlite:\(name).db
                out: \(name)
                inference: {method: npe, estimators: [{model: mdn, hidden_features: 10}]}
                rounds: {count: 1, simulations_per_round: 60}
                validation: {simulations: 0}
                train: {max_epochs: 3, batch_size: 10}
                seed: 4
                """, name: "\(name).yaml")
            let runner = try ExperimentRunner.prepare(config)
            let summary = try runner.run()
            let data = try runner.registry.trainingData(experiment: "pool", rounds: 0...0)
            var rng = RandomSource(seed: 1)
            let samples = try RegistryArchives.posterior(runner.registry, id: try XCTUnwrap(summary.latestPosterior))
                .sample(50, observations: Matrix([[0.1, 0.2]]), rng: &rng)
            runner.registry.close()
            return (data.theta, data.x, samples)
        }
        let a = try runOnce("a"), b = try runOnce("b")
        XCTAssertEqual(a.theta.count, 120)
        XCTAssertEqual(a.theta, b.theta)
        XCTAssertEqual(a.x, b.x)
        XCTAssertEqual(a.samples, b.samples)
    }

    func testAnExecSimulatorThatCrashesOnSomeThetasStillReachesItsTarget() throws {
        try writePythonSimulator(to: path("sim.py"), crashAbove: 0.8)
        let config = try configuration("""
            experiment: crashy
            simulator: {exec: 'python3 sim.py', workers: 2, batch_size: 10, timeout: 60}
            prior: {uniform: {low: [-1, -1], high: [1, 1]}}
            inference: {method: npe, estimators: [{model: mdn, hidden_features: 10}]}
            rounds: {count: 1, simulations_per_round: 100}
            validation: {simulations: 0}
            train: {max_epochs: 2}
            """)
        let runner = try ExperimentRunner.prepare(config)
        XCTAssertEqual(runner.simulation.xCount, 2)
        _ = try runner.run()
        let round = try runner.registry.rounds(experiment: "crashy")[0]
        XCTAssertEqual(round.status, .done)
        XCTAssertGreaterThanOrEqual(round.validSimulations, 100)
        // θ₀ ~ U(−1, 1) is above 0.8 a tenth of the time: those, and only those, failed.
        XCTAssertGreaterThan(round.invalidSimulations, 3)
        let reasons = try runner.registry.failureReasons(round: round.id, limit: 50)
        XCTAssertTrue(reasons.allSatisfy { $0.reason.contains("exited with status 3") && $0.reason.contains("theta0 too large") }, "\(reasons.prefix(3))")
        let data = try runner.registry.trainingData(experiment: "crashy", rounds: 0...0)
        XCTAssertTrue(stride(from: 0, to: data.theta.count, by: 2).allSatisfy { data.theta[$0] <= 0.8 })
    }

    func testAnExecSimulatorThatFailsItsFirstThetaStopsBeforeAnyWork() throws {
        try writePythonSimulator(to: path("sim.py"), crashAbove: -2)
        let config = try configuration("""
            simulator: {exec: 'python3 sim.py'}
            prior: {uniform: {low: [-1, -1], high: [1, 1]}}
            inference: {method: npe, estimators: [{model: mdn}]}
            """)
        XCTAssertThrowsError(try ExperimentRunner.prepare(config)) { error in
            XCTAssertTrue("\(error)".contains("failed on each of its first 3 θs") && "\(error)".contains("exited with status 3"), "\(error)")
        }
        let missing = try configuration("""
            simulator: {exec: 'no-such-simulator --fast'}
            prior: {uniform: {low: [-1, -1], high: [1, 1]}}
            inference: {method: npe, estimators: [{model: mdn}]}
            """, name: "missing.yaml")
        XCTAssertThrowsError(try ExperimentRunner.prepare(missing)) { error in
            XCTAssertTrue("\(error)".contains("no program `no-such-simulator` on PATH"), "\(error)")
        }
    }

    func testAnExecProgramTheShellExpandsIsLeftToTheShellAndProbed() throws {
        try writePythonSimulator(to: path("sim.py"))
        let settings = { (command: String) in
            ExecSimulationBackend.Settings(command: command, directory: self.directory, workers: 1, batchSize: 10, timeout: 60)
        }
        // The shell chooses the program (examples/python-fleet runs `${ILI_PYTHON:-python3} simulator.py`).
        XCTAssertEqual(try ExecSimulationBackend.probe(settings("${ILI_NO_SUCH_VARIABLE:-python3} sim.py"), thetas: [[0.1, 0.2]]), 2)
        XCTAssertEqual(try ExecSimulationBackend.probe(settings("\"python3\" sim.py"), thetas: [[0.1, 0.2]]), 2)
        // One the shell cannot find is refused by the probe, with what the shell said.
        XCTAssertThrowsError(try ExecSimulationBackend.probe(settings("${ILI_NO_SUCH_VARIABLE:-no-such-program} sim.py"), thetas: [[0.1, 0.2]])) { error in
            XCTAssertTrue("\(error)".contains("exited with status 127") && "\(error)".contains("not found"), "\(error)")
        }
    }

    func testSequentialAndActiveRoundsDrawFromThePosteriorAndFinish() throws {
        // LtU-ILI's toy at θ = (0.5, 0.5, 0.5) without noise: a posterior far narrower than the prior.
        let xo = Matrix<Double>(rows: 1, cols: 10) { _, t in 1.5 * sin(Double(t)) + 0.5 * Double(t * t) - Double(t) }
        try NPYFile.write(xo, to: path("xo.npy"))
        let cases: [(String, String, String, String)] = [
            ("npe", "[{model: maf, hidden_features: 20, num_transforms: 2}]", "{strategy: sequential, count: 2, simulations_per_round: 400}", "truncated"),
            ("npe", "[{model: maf, hidden_features: 20, num_transforms: 2}]", "{strategy: sequential, count: 2, simulations_per_round: 400, proposal: atomic}", "posterior"),
            ("nle", "[{model: mdn, hidden_features: 20}]", "{strategy: sequential, count: 2, simulations_per_round: 400}", "posterior"),
            ("nre", "[{model: mlp, hidden_features: 20}]", "{strategy: sequential, count: 2, simulations_per_round: 400}", "posterior"),
            ("npe", "[{model: mdn, hidden_features: 20, repeats: 2}]", "{strategy: active, count: 2, simulations_per_round: 400, candidates: 4}", "active"),
        ]
        for (k, (method, estimators, rounds, strategy)) in cases.enumerated() {
            let config = try configuration("""
                experiment: seq\(k)
                simulator: ltu_toy
                inference: {method: \(method), estimators: \(estimators)\(method == "npe" ? "" : ", sampler: {chains: 10, warmup: 20}")}
                rounds: \(rounds)
                observation: xo.npy
                registry: sqlite:seq\(k).db
                out: seq\(k)
                train: {max_epochs: 10, batch_size: 100}
                validation: {simulations: 30, samples: 100}
                seed: 3
                """, name: "seq\(k).yaml")
            let runner = try ExperimentRunner.prepare(config)
            let summary = try runner.run()
            XCTAssertEqual(summary.roundsDone, 2, "\(method) \(rounds)")
            let recorded = try runner.registry.rounds(experiment: "seq\(k)")
            XCTAssertEqual(recorded.map(\.strategy), ["prior", strategy])
            let proposal = try RegistryMapping.proposal(of: recorded[1])
            XCTAssertEqual(proposal.sourcePosterior, try runner.registry.posteriors(round: recorded[0].id).last?.id)
            // Round 1's θs are exactly the draws of the proposal built from round 0's posterior
            // (TruncationTests and ActiveProposalTests check what those proposals draw); drawn
            // from the posterior, they are round 0's samples at the observation, which a fresh
            // runner (a restarted run) draws again identically.
            let stored = try runner.registry.trainingData(experiment: "seq\(k)", rounds: 1...1).theta
            let expected: [Float]
            if strategy == "posterior" {
                let written = try NPYFile.read(path("seq\(k)/round-0/samples_xo.npy"))
                XCTAssertEqual(written.shape, [400, 3], "\(method): an earlier round writes as many samples as the next simulates")
                expected = written.matrix(as: Float.self).storage
                let restarted = try ExperimentRunner.prepare(config)
                let again = try restarted.observationSamples(of: XCTUnwrap(proposal.sourcePosterior), count: 400)
                XCTAssertEqual(again.converted(to: Float.self).storage, expected, "\(method): redrawn after a restart")
                restarted.registry.close()
            } else {
                let replay = try runner.proposals(for: recorded[1])
                var rng = RandomSource(seed: Seeds.derive(3, "theta-train", recorded[1].index, 0))
                expected = try replay.training.draw(400, rng: &rng).converted(to: Float.self).storage
            }
            XCTAssertEqual(Array(stored.prefix(expected.count)), expected, "\(method) \(strategy)")
            let finalSamples = try NPYFile.read(path("seq\(k)/round-1/samples_xo.npy"))
            XCTAssertEqual(finalSamples.shape, [10_000, 3], "the last round writes 10,000 samples")
            XCTAssertNotEqual(try runner.registry.trainingData(experiment: "seq\(k)", rounds: 0...0).theta.prefix(30), stored.prefix(30))
            XCTAssertTrue(FileManager.default.fileExists(atPath: try XCTUnwrap(summary.latestDirectory) + "/samples_xo.npy"))
            // Round 1's members continue round 0's networks, member for member.
            let continued = try runner.registry.trainingJobs(round: recorded[1].id).map { try RegistryMapping.storedJob($0) }
            let previous = try XCTUnwrap(runner.registry.posteriors(round: recorded[0].id).last).members
            XCTAssertEqual(continued.map(\.job.member).sorted(), previous.map(\.index).sorted())
            for job in continued {
                XCTAssertEqual(job.continuesFrom, previous.first { $0.index == job.job.member }?.modelVersion, "\(method) \(strategy)")
            }
            XCTAssertTrue(try runner.registry.trainingJobs(round: recorded[0].id).allSatisfy { try RegistryMapping.storedJob($0).continuesFrom == nil })
            runner.registry.close()
        }
    }

    /// `continue_training: false` trains every round from fresh weights; an amortized run
    /// does so by default, and may continue when asked.
    func testContinueTrainingFollowsTheSettingAndTheStrategy() throws {
        let xo = Matrix<Double>(rows: 1, cols: 10) { _, t in 1.5 * sin(Double(t)) + 0.5 * Double(t * t) - Double(t) }
        try NPYFile.write(xo, to: path("xo.npy"))
        for (k, (rounds, continues)) in [("{strategy: sequential, count: 2, simulations_per_round: 300, continue_training: false}", false),
                                         ("{strategy: amortized, count: 2, simulations_per_round: 300}", false),
                                         ("{strategy: amortized, count: 2, simulations_per_round: 300, continue_training: true}", true)].enumerated() {
            let config = try configuration("""
                experiment: cont\(k)
                simulator: ltu_toy
                inference: {method: npe, estimators: [{model: mdn, hidden_features: 10}]}
                rounds: \(rounds)
                observation: xo.npy
                registry: sqlite:cont\(k).db
                out: cont\(k)
                train: {max_epochs: 3, batch_size: 100}
                validation: {simulations: 0}
                seed: 3
                """, name: "cont\(k).yaml")
            let runner = try ExperimentRunner.prepare(config)
            XCTAssertEqual(try runner.run().roundsDone, 2)
            let recorded = try runner.registry.rounds(experiment: "cont\(k)")
            let job = try RegistryMapping.storedJob(try XCTUnwrap(runner.registry.trainingJobs(round: recorded[1].id).first))
            XCTAssertEqual(job.continuesFrom != nil, continues, rounds)
            runner.registry.close()
        }
        XCTAssertThrowsError(try configuration("""
            experiment: bad
            simulator: ltu_toy
            inference: {method: npe, estimators: [{model: mdn}]}
            rounds: {strategy: sequential, count: 2, continue_training: sometimes}
            observation: xo.npy
            """, name: "bad.yaml")) { error in
            XCTAssertTrue("\(error)".contains("continue_training"), "\(error)")
        }
    }

    /// `loss: balanced` trains every round's members with the balanced loss against the
    /// prior, truncated rounds included; rounds that draw θ from the posterior (and so train
    /// with the atomic loss) refuse it when the configuration is read.
    func testBalancedNPERunsTruncatedRoundsAndRefusesPosteriorProposals() throws {
        let xo = Matrix<Double>(rows: 1, cols: 10) { _, t in 1.5 * sin(Double(t)) + 0.5 * Double(t * t) - Double(t) }
        try NPYFile.write(xo, to: path("xo.npy"))
        let config = try configuration("""
            experiment: balanced
            simulator: ltu_toy
            inference: {method: npe, loss: balanced, balance_strength: 20, estimators: [{model: maf, hidden_features: 20, num_transforms: 2}]}
            rounds: {strategy: sequential, count: 2, simulations_per_round: 400}
            observation: xo.npy
            train: {max_epochs: 5, batch_size: 100}
            validation: {simulations: 30, samples: 100}
            seed: 3
            """, name: "balanced.yaml")
        let runner = try ExperimentRunner.prepare(config)
        XCTAssertEqual(try runner.run().roundsDone, 2)
        let recorded = try runner.registry.rounds(experiment: "balanced")
        XCTAssertEqual(recorded.map(\.strategy), ["prior", "truncated"])
        for round in recorded {
            for stored in try runner.registry.trainingJobs(round: round.id) {
                XCTAssertEqual(try RegistryMapping.storedJob(stored).job.posteriorLoss, .balanced(strength: 20, prior: config.prior), "round \(round.index)")
            }
        }
        runner.registry.close()
        for (k, rounds) in ["{strategy: sequential, count: 2, proposal: atomic}",
                            "{strategy: active, count: 2, candidates: 4}"].enumerated() {
            XCTAssertThrowsError(try configuration("""
                experiment: refused
                simulator: ltu_toy
                inference: {method: npe, loss: balanced, estimators: [{model: mdn, repeats: 2}]}
                rounds: \(rounds)
                observation: xo.npy
                """, name: "refused\(k).yaml")) { error in
                XCTAssertTrue("\(error)".contains("inference.loss: the balanced loss compares q(θ | x) with the prior"), "\(error)")
            }
        }
    }
}
