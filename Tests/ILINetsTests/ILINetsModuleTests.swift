import ILINets
import XCTest

final class ILINetsModuleTests: XCTestCase {
    func testEngineIsReExported() {
        let t = Tape<Double>()
        XCTAssertEqual(t.constant(Matrix([[1, 2]])).sum().value.scalar, 3)
    }
}
