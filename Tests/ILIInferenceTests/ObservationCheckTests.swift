import ILIInference
import XCTest

/// A posterior refuses observations holding NaN or ±∞ before it samples, naming where.
final class ObservationCheckTests: XCTestCase {
    let posterior = GaussianPosterior(task: GaussianLinear(dimension: 3))

    func testNaNIsNamedWithItsIndex() {
        var rng = RandomSource(seed: 1)
        XCTAssertThrowsError(try posterior.sample(10, observations: Matrix([[0.1, .nan, 0.3]]), rng: &rng)) { error in
            XCTAssertEqual((error as? PosteriorError)?.code, .nonFiniteObservation)
            XCTAssertTrue("\(error)".contains("the observation holds nan at index 1"), "\(error)")
        }
    }

    func testInfinityInALaterRowNamesTheRow() {
        let observations = Matrix([[0.1, 0.2, 0.3], [0.1, 0.2, -.infinity]])
        XCTAssertThrowsError(try posterior.checkObservations(observations)) { error in
            XCTAssertTrue("\(error)".contains("observation 1 (row 1) holds -inf at index 2"), "\(error)")
        }
        XCTAssertThrowsError(try posterior.logProb(Matrix([[0, 0, 0], [0, 0, 0]]), observations: observations))
    }

    func testFiniteObservationsPass() throws {
        XCTAssertNoThrow(try posterior.checkObservations(Matrix([[0.1, 0.2, 0.3], [1e30, -1e30, 0]])))
    }
}
