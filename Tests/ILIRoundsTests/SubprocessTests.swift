import Foundation
@testable import ILIRounds
import XCTest

final class SubprocessTests: RoundsTestCase {
    /// A program that exits without reading its input: writing the rest of the input (more
    /// than a pipe holds) fails with EPIPE, and the caller lives on to read its status. Before
    /// Subprocess ignored SIGPIPE itself, this ended the test process.
    func testAProgramThatLeavesItsInputUnreadDoesNotEndTheCaller() throws {
        let big = Data(count: 4 << 20)
        for (command, status) in [("true", Int32(0)), ("sh -c 'echo gone >&2; exit 3'", 3)] {
            let outcome = try Subprocess(command: command, directory: directory, environment: [:]).run(input: big, timeout: 60)
            XCTAssertEqual(outcome.status, status, command)
            XCTAssertFalse(outcome.timedOut || outcome.killed, command)
        }
    }
}
