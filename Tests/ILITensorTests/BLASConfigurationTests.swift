import ILITensor
import XCTest

final class BLASConfigurationTests: XCTestCase {
    func testDefaultIsOneThreadAndEnvironmentOverrides() {
        XCTAssertEqual(BLASConfiguration.useDefaultThreadCount(environment: [:]), 1)
        XCTAssertEqual(BLASConfiguration.useDefaultThreadCount(environment: ["ILI_BLAS_THREADS": "2"]), 2)
        XCTAssertEqual(BLASConfiguration.useDefaultThreadCount(environment: ["ILI_BLAS_THREADS": "zero"]), 1)
        XCTAssertTrue(BLASConfiguration.configString.hasPrefix("OpenBLAS"))
    }
}
