@testable import ILIFleet
import XCTest

final class CurveRefusalTests: XCTestCase {
    func testAWorkerWithoutAnAllowedKeyIsRefusedAndReported() throws {
        try XCTSkipUnless(CurveKeyPair.isAvailable, "this libzmq has no CURVE")
        let serverKeys = try CurveKeyPair.generate(), allowedKeys = try CurveKeyPair.generate(), strangerKeys = try CurveKeyPair.generate()
        let refused = expectation(description: "the stranger's key is reported")
        refused.assertForOverFulfill = false
        let reported = LockedBox<String>()
        let security = CurveServerSecurity(keys: serverKeys, allowed: AllowedKeys(keys: [allowedKeys.publicKey: "allowed"])) { key, _ in
            reported.set(key)
            refused.fulfill()
        }
        let server = try ZeroMQServerTransport(endpoints: ["tcp://127.0.0.1:0"], curve: security)
        defer { server.close() }
        let endpoint = server.boundEndpoints[0]
        let stranger = try ZeroMQClientTransport(endpoint: endpoint, curve: CurveClientSecurity(keys: strangerKeys, serverKey: serverKeys.publicKey))
        let friend = try ZeroMQClientTransport(endpoint: endpoint, curve: CurveClientSecurity(keys: allowedKeys, serverKey: serverKeys.publicKey))
        // The stranger's messages never get through; the friend's do.
        var friendSent = false
        var received: [[UInt8]] = []
        for _ in 0..<100 where received.isEmpty {
            _ = try stranger.send([Array("stranger".utf8)])
            if !friendSent { friendSent = try friend.send([Array("friend".utf8)]) == .sent }
            if let message = try server.receive(timeout: 0.1) { received.append(message.frames[0]) }
        }
        wait(for: [refused], timeout: 30)
        XCTAssertEqual(reported.value, strangerKeys.publicKey)
        for _ in 0..<10 { if let message = try server.receive(timeout: 0.1) { received.append(message.frames[0]) } }
        XCTAssertTrue(received.contains(Array("friend".utf8)))
        XCTAssertFalse(received.contains(Array("stranger".utf8)))
        stranger.close()
        friend.close()
    }

    func testKeyFilesRoundTripAndBadOnesAreNamed() throws {
        try XCTSkipUnless(CurveKeyPair.isAvailable, "this libzmq has no CURVE")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ili-keys-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let pair = try CurveKeyPair.generate()
        try pair.write(to: directory + "/worker")
        XCTAssertEqual(try CurveKeyPair.load(secretFile: directory + "/worker.key"), pair)
        XCTAssertEqual(try CurveKeyPair.loadPublic(directory + "/worker.pub"), pair.publicKey)
        XCTAssertThrowsError(try pair.write(to: directory + "/worker"), "never overwrites a key")
        let attributes = try FileManager.default.attributesOfItem(atPath: directory + "/worker.key")
        XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o600)
        // An allowed-keys file takes .pub files appended to it and bare keys with names.
        let other = try CurveKeyPair.generate()
        try (try String(contentsOfFile: directory + "/worker.pub", encoding: .utf8) + "\(other.publicKey) node-7\n")
            .write(toFile: directory + "/allowed", atomically: true, encoding: .utf8)
        XCTAssertEqual(try AllowedKeys.load(directory + "/allowed").keys, [pair.publicKey: "line 2", other.publicKey: "node-7"])
        try "not-a-key\n".write(toFile: directory + "/bad", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try AllowedKeys.load(directory + "/bad")) { XCTAssertTrue("\($0)".contains("/bad:1")) }
        XCTAssertThrowsError(try CurveKeyPair.load(secretFile: directory + "/worker.pub")) { XCTAssertTrue("\($0)".contains("secret-key")) }
    }

    func testZ85MatchesTheSpecificationsExample() {
        // ZeroMQ RFC 32's test vector.
        XCTAssertEqual(Z85.encode([0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B]), "HelloWorld")
    }
}

/// A value set on one thread and read on another.
final class LockedBox<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value?
    func set(_ value: Value) { lock.withLock { stored = value } }
    var value: Value? { lock.withLock { stored } }
}
