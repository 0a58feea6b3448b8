import ILIRegistry
import XCTest

/// `RegistryURL.redacting` hides the password in every form libpq reads one.
final class PasswordRedactionTests: XCTestCase {
    func testEveryFormLibpqAccepts() {
        let cases: [(String, String)] = [
            ("postgresql://u:p@h/db", "postgresql://u:***@h/db"),
            ("postgres://u:s3cr3t@h:5432/db?sslmode=require", "postgres://u:***@h:5432/db?sslmode=require"),
            ("postgresql://u@h/db?password=s3cr3t", "postgresql://u@h/db?password=***"),
            ("postgresql://u@h/db?sslmode=require&password=s3cr3t&application_name=ili",
             "postgresql://u@h/db?sslmode=require&password=***&application_name=ili"),
            ("host=h port=5432 user=u password=s3cr3t dbname=ili", "host=h port=5432 user=u password=*** dbname=ili"),
            ("password=s3cr3t host=h", "password=*** host=h"),
            ("host=h password = 's3 cr\\'3t' dbname=ili", "host=h password = *** dbname=ili"),
            ("postgresql://u:p%40ss%2Fw@h/db", "postgresql://u:***@h/db"),
            ("postgresql://u:p@ss@h/db", "postgresql://u:***@h/db"),
            ("postgresql://u:p@h/db?password=q", "postgresql://u:***@h/db?password=***"),
            ("postgresql://u@h/db", "postgresql://u@h/db"),
            ("postgresql://h/db", "postgresql://h/db"),
            ("host=h user=u dbname=ili", "host=h user=u dbname=ili"),
            ("sqlite:runs/password=x.db", "sqlite:runs/password=x.db"),
        ]
        for (given, expected) in cases {
            XCTAssertEqual(RegistryURL.redacting(given), expected, given)
        }
    }

    func testRedactedURLsOfBothBackEnds() throws {
        XCTAssertEqual(try RegistryURL("postgresql://u:pw@h/db?password=pw").redacted, "postgresql://u:***@h/db?password=***")
        XCTAssertEqual(try RegistryURL("sqlite:runs/r.db").redacted, "sqlite:runs/r.db")
    }
}
