import Foundation
import ILIInference
import ILIRounds
import ILITensor
import XCTest

/// `lotka_volterra` and `sir` as built-in simulators: the names resolve to the SBI
/// benchmark's tasks with their log-normal priors, and each simulation follows its own seed.
final class BenchmarkODESimulatorTests: XCTestCase {
    func testTheODETasksAreBuiltInWithTheirPriors() throws {
        for (name, prior, width) in [("lotka_volterra", LotkaVolterra.priorSpecification, 20),
                                     ("sir", SIREpidemic.priorSpecification, 10)] {
            XCTAssertTrue(BuiltInSimulator.names.contains(name))
            let builtIn = try XCTUnwrap(BuiltInSimulator.named(name))
            XCTAssertEqual(builtIn.defaultPrior, prior)
            var rng = RandomSource(seed: 7)
            let theta = try prior.makePrior().sample(3, rng: &rng)
            let all = builtIn.simulate(theta, seeds: [21, 22, 23])
            XCTAssertEqual(all.cols, width, name)
            XCTAssertTrue(all.storage.allSatisfy(\.isFinite), name)
            XCTAssertEqual(builtIn.simulate(theta.rows(at: [2]), seeds: [23]).row(0), all.row(2), name)
            XCTAssertNotEqual(builtIn.simulate(theta.rows(at: [2]), seeds: [24]).row(0), all.row(2), name)
        }
        XCTAssertEqual(LotkaVolterra.priorSpecification, .logNormal(mean: [-0.125, -3, -0.125, -3], std: [0.5, 0.5, 0.5, 0.5]))
        XCTAssertEqual(SIREpidemic.priorSpecification, .logNormal(mean: [log(0.4), log(0.125)], std: [0.5, 0.2]))
    }
}
