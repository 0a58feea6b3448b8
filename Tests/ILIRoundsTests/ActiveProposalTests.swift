import Foundation
import ILIInference
@testable import ILIRounds
import XCTest

final class ActiveProposalTests: XCTestCase {
    /// Two members that agree near θ = 0 and disagree more and more away from it: the active
    /// proposal keeps, of its candidates, exactly those with the largest spread.
    func testActiveRoundsKeepTheCandidatesTheMembersDisagreeOnMost() throws {
        var rng = RandomSource(seed: 7)
        let n = 400
        let theta = Matrix<Double>(rows: n, cols: 1) { _, _ in rng.normal() * 0.5 }
        let x = Matrix<Double>(rows: n, cols: 1) { i, _ in theta[i, 0] + 0.1 * rng.normal() }
        var settings = TrainingSettings()
        settings.maxEpochs = 3
        // Members trained on different halves of the data disagree, most where data are sparse.
        let prior = try PriorSpecification.normal(mean: [0], std: [0.5]).makePrior()
        let result = try NeuralPosteriorEstimation.train(configurations: [.mdn(features: 1, context: 1), .mdn(features: 1, context: 1)],
                                                         data: try SimulationDataset(theta: theta, x: x), settings: settings, seed: 2)
        let posterior = DirectPosterior(prior: prior, ensemble: result.ensemble)
        let proposal = ActiveProposal(posterior: posterior, observation: [0.2], candidatesPerSimulation: 5)
        var drawRNG = RandomSource(seed: 3), replayRNG = RandomSource(seed: 3)
        let kept = try proposal.draw(40, rng: &drawRNG)
        // Replaying the same random stream gives the candidates the proposal chose among.
        let candidates = try posterior.sample(200, observations: Matrix([[0.2]]), rng: &replayRNG)
        let spread = try EnsembleDisagreement.spread(of: posterior, theta: candidates, observation: [0.2])
        XCTAssertEqual(kept.rows, 40)
        // Which candidates were kept (rows match exactly: they are the same draws).
        let keptIndices = (0..<kept.rows).compactMap { i in (0..<candidates.rows).first { candidates.row($0) == kept.row(i) } }
        XCTAssertEqual(Set(keptIndices).count, 40)
        let mostDisputed = Set(spread.indices.sorted { spread[$0] > spread[$1] }.prefix(40))
        XCTAssertEqual(Set(keptIndices), mostDisputed, "the kept θs are the 40 most disputed of the 200 candidates")
        XCTAssertGreaterThan(keptIndices.map { spread[$0] }.reduce(0, +) / 40, spread.reduce(0, +) / 200)
        // The spread is the members' disagreement: zero for an ensemble of one member twice.
        let twin = DirectPosterior(prior: prior, ensemble: DensityEnsemble(members: [result.ensemble.members[0], result.ensemble.members[0]],
                                                                            weights: [0.5, 0.5]))
        XCTAssertTrue(try EnsembleDisagreement.spread(of: twin, theta: candidates, observation: [0.2]).allSatisfy { $0 == 0 })
    }
}
