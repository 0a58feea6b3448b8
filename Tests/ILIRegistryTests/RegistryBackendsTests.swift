import ILIRegistry
import XCTest

final class RegistryBackendsTests: XCTestCase {
    func testLinkedClientLibrariesReportVersions() {
        XCTAssertNotNil(RegistryBackends.libpqVersion.range(of: #"^\d+\.\d+"#, options: .regularExpression))
        XCTAssertTrue(RegistryBackends.sqliteVersion.hasPrefix("3."))
        XCTAssertTrue(RegistryBackends.sqliteIsThreadSafe)
    }
}
