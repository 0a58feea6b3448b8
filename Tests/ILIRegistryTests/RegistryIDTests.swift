import Foundation
import ILIRegistry
import XCTest

/// Typed registry ids. That a round id cannot stand for a posterior id is checked by the
/// compiler; what is checked here is what could change at run time: the JSON and text an
/// id turns into, and how a malformed id is refused.
final class RegistryIDTests: XCTestCase {
    /// A record as stored JSON holds it: an id next to other fields.
    private struct Holder: Codable, Equatable {
        var posterior: PosteriorID
        var rounds: [RoundID]
        var verdict: ValidationResultID?
    }

    /// The same fields as plain integers, as they were before ids had types.
    private struct PlainHolder: Codable, Equatable {
        var posterior: Int64
        var rounds: [Int64]
        var verdict: Int64?
    }

    private func encoded<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    func testAnIdIsTheBareIntegerInJSON() throws {
        XCTAssertEqual(try encoded(RoundID(rawValue: 42)), "42")
        XCTAssertEqual(try encoded(Holder(posterior: 7, rounds: [1, 9_007_199_254_740_993], verdict: nil)),
                       #"{"posterior":7,"rounds":[1,9007199254740993]}"#)
        XCTAssertEqual(try encoded(Holder(posterior: 7, rounds: [], verdict: 3)),
                       try encoded(PlainHolder(posterior: 7, rounds: [], verdict: 3)))
    }

    func testJSONWrittenWithPlainIntegersDecodesToTheSameIds() throws {
        let text = try encoded(PlainHolder(posterior: 12, rounds: [3, 4], verdict: 5))
        let decoded = try JSONDecoder().decode(Holder.self, from: Data(text.utf8))
        XCTAssertEqual(decoded, Holder(posterior: PosteriorID(rawValue: 12), rounds: [3, 4], verdict: 5))
        XCTAssertEqual(decoded.posterior.rawValue, 12)
        XCTAssertEqual(try JSONDecoder().decode(ModelVersionID.self, from: Data("-1".utf8)), ModelVersionID(rawValue: -1))
    }

    func testANonIntegerIdIsRefusedNamingTheRecordAndTheField() throws {
        for bad in [#"{"posterior":"7","rounds":[]}"#, #"{"posterior":7.5,"rounds":[]}"#] {
            XCTAssertThrowsError(try JSONDecoder().decode(Holder.self, from: Data(bad.utf8)), bad) { error in
                guard case DecodingError.dataCorrupted(let context) = error else {
                    return XCTFail("\(bad): \(error) is not a data-corrupted error")
                }
                XCTAssertEqual(context.debugDescription, "a RegisteredPosterior id must be a whole number such as 12", bad)
                XCTAssertEqual(context.codingPath.map(\.stringValue), ["posterior"], bad)
            }
        }
        XCTAssertThrowsError(try JSONDecoder().decode(Holder.self, from: Data(#"{"posterior":1,"rounds":[2,"x"]}"#.utf8))) { error in
            guard case DecodingError.dataCorrupted(let context) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(context.debugDescription, "a Round id must be a whole number such as 12")
        }
    }

    func testAnIdPrintsAsItsNumber() {
        let posterior: PosteriorID = 12
        XCTAssertEqual(posterior.description, "12")
        XCTAssertEqual("posterior-\(posterior)", "posterior-12")
        XCTAssertEqual(String(describing: TrainingJobID(rawValue: -3)), "-3")
        // Messages interpolate lists of ids (e.g. the experiments a posterior's members span).
        XCTAssertEqual("\([ExperimentID(rawValue: 1), 2])", "[1, 2]")
    }

    func testIdsCompareAndHashByTheirNumber() {
        let ids: [RoundID] = [3, 1, 2, 1]
        XCTAssertEqual(ids.sorted(), [1, 1, 2, 3])
        XCTAssertEqual(Set(ids).count, 3)
        XCTAssertTrue(RoundID(rawValue: 1) < RoundID(rawValue: 2))
        XCTAssertEqual(RoundID(rawValue: 7), 7)
        XCTAssertNotEqual(RoundID(rawValue: 7), 8)
    }
}
