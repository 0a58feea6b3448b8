@testable import ILIFleet
import XCTest

/// The contract every transport keeps, run against the in-memory one and ZeroMQ (inproc,
/// and tcp on loopback with and without CURVE), as the registry's contract tests serve
/// both databases.
class TransportContractTests: XCTestCase {
    /// A server and a way to connect clients to it.
    func makeServer() throws -> (any FleetServerTransport, () throws -> any FleetClientTransport) {
        let network = MemoryNetwork()
        let server = network.bind()
        return (server, { network.connect() })
    }

    var server: (any FleetServerTransport)!
    var connect: (() throws -> any FleetClientTransport)!

    override func setUpWithError() throws {
        (server, connect) = try makeServer()
    }

    override func tearDown() {
        server?.close()
    }

    /// Waits for the next message, giving up (and failing) after a generous bound.
    func next(_ server: any FleetServerTransport, file: StaticString = #filePath, line: UInt = #line) throws -> (peer: PeerID, frames: [[UInt8]]) {
        for _ in 0..<300 {
            if let message = try server.receive(timeout: 0.1) { return message }
        }
        XCTFail("no message within 30 s", file: file, line: line)
        throw FleetTransportError("timed out")
    }

    func next(_ client: any FleetClientTransport, file: StaticString = #filePath, line: UInt = #line) throws -> [[UInt8]] {
        for _ in 0..<300 {
            if let message = try client.receive(timeout: 0.1) { return message }
        }
        XCTFail("no message within 30 s", file: file, line: line)
        throw FleetTransportError("timed out")
    }

    /// Sends until the transport takes it (a ZeroMQ connection may still be forming).
    func send(_ frames: [[UInt8]], from client: any FleetClientTransport) throws {
        for _ in 0..<300 {
            if try client.send(frames) == .sent { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        XCTFail("the client could not send within 30 s")
    }

    func testMessagesArriveWholeAndRepliesReachTheirSender() throws {
        let one = try connect(), two = try connect()
        try send([[1], [], [2, 3]], from: one)
        let first = try next(server)
        XCTAssertEqual(first.frames, [[1], [], [2, 3]])
        try send([[9]], from: two)
        let second = try next(server)
        XCTAssertEqual(second.frames, [[9]])
        XCTAssertNotEqual(first.peer, second.peer)
        XCTAssertEqual(try server.send([[4], [5]], to: second.peer), .sent)
        XCTAssertEqual(try server.send([[6]], to: first.peer), .sent)
        XCTAssertEqual(try next(two), [[4], [5]])
        XCTAssertEqual(try next(one), [[6]])
        // The same client keeps its identity.
        try send([[7]], from: one)
        XCTAssertEqual(try next(server).peer, first.peer)
        one.close()
        two.close()
    }

    func testOrderIsKeptAndLargeFramesPass() throws {
        let client = try connect()
        let big = (0..<(8 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try send([[0]], from: client)
        for i in 1...200 { XCTAssertEqual(try client.send([[UInt8(i)]]), .sent) }
        try send([big], from: client)
        var seen: [UInt8] = []
        for _ in 0...200 { seen.append(try next(server).frames[0][0]) }
        XCTAssertEqual(seen, (0...200).map(UInt8.init))
        XCTAssertEqual(try next(server).frames[0], big)
        client.close()
    }

    func testAPeerThatLeftIsUnreachableNotAnError() throws {
        let client = try connect()
        try send([[1]], from: client)
        let peer = try next(server).peer
        client.close()
        var outcome = SendOutcome.sent
        for _ in 0..<300 where outcome == .sent {   // ZeroMQ notices the disconnection a moment later
            outcome = try server.send([[2]], to: peer)
            if outcome == .sent { Thread.sleep(forTimeInterval: 0.1) }
        }
        XCTAssertEqual(outcome, .unreachable)
        XCTAssertEqual(try server.send([[2]], to: PeerID([0, 9, 9, 9])), .unreachable)
    }

    func testWakeEndsAWaitingReceive() throws {
        let done = expectation(description: "receive returned")
        let server = self.server!
        Thread.detachNewThread {
            _ = try? server.receive(timeout: 600)
            done.fulfill()
        }
        Thread.sleep(forTimeInterval: 0.2)
        server.wake()
        wait(for: [done], timeout: 60)
        let client = try connect()
        let clientDone = expectation(description: "client receive returned")
        Thread.detachNewThread {
            _ = try? client.receive(timeout: 600)
            clientDone.fulfill()
        }
        Thread.sleep(forTimeInterval: 0.2)
        client.wake()
        wait(for: [clientDone], timeout: 60)
        client.close()
    }
}

final class ZeroMQInprocTransportTests: TransportContractTests {
    override func makeServer() throws -> (any FleetServerTransport, () throws -> any FleetClientTransport) {
        let endpoint = "inproc://contract-\(UUID().uuidString)"
        let server = try ZeroMQServerTransport(endpoints: [endpoint], curve: nil)
        return (server, { try ZeroMQClientTransport(endpoint: endpoint, curve: nil) })
    }

    // Linux's XCTest finds only the tests a class declares itself.
    override func testMessagesArriveWholeAndRepliesReachTheirSender() throws { try super.testMessagesArriveWholeAndRepliesReachTheirSender() }
    override func testOrderIsKeptAndLargeFramesPass() throws { try super.testOrderIsKeptAndLargeFramesPass() }
    override func testAPeerThatLeftIsUnreachableNotAnError() throws { try super.testAPeerThatLeftIsUnreachableNotAnError() }
    override func testWakeEndsAWaitingReceive() throws { try super.testWakeEndsAWaitingReceive() }
}

final class ZeroMQTCPTransportTests: TransportContractTests {
    override func makeServer() throws -> (any FleetServerTransport, () throws -> any FleetClientTransport) {
        let server = try ZeroMQServerTransport(endpoints: ["tcp://127.0.0.1:0"], curve: nil, insecure: true)
        let endpoint = server.boundEndpoints[0]
        return (server, { try ZeroMQClientTransport(endpoint: endpoint, curve: nil, insecure: true) })
    }

    // Linux's XCTest finds only the tests a class declares itself.
    override func testMessagesArriveWholeAndRepliesReachTheirSender() throws { try super.testMessagesArriveWholeAndRepliesReachTheirSender() }
    override func testOrderIsKeptAndLargeFramesPass() throws { try super.testOrderIsKeptAndLargeFramesPass() }
    override func testAPeerThatLeftIsUnreachableNotAnError() throws { try super.testAPeerThatLeftIsUnreachableNotAnError() }
    override func testWakeEndsAWaitingReceive() throws { try super.testWakeEndsAWaitingReceive() }
}

final class ZeroMQCurveTransportTests: TransportContractTests {
    static let serverKeys = try! CurveKeyPair.generate()
    static let workerKeys = try! CurveKeyPair.generate()

    override func makeServer() throws -> (any FleetServerTransport, () throws -> any FleetClientTransport) {
        try XCTSkipUnless(CurveKeyPair.isAvailable, "this libzmq has no CURVE")
        let allowed = AllowedKeys(keys: [Self.workerKeys.publicKey: "worker"])
        let server = try ZeroMQServerTransport(endpoints: ["tcp://127.0.0.1:0"], curve: CurveServerSecurity(keys: Self.serverKeys, allowed: allowed))
        let endpoint = server.boundEndpoints[0]
        let security = CurveClientSecurity(keys: Self.workerKeys, serverKey: Self.serverKeys.publicKey)
        return (server, { try ZeroMQClientTransport(endpoint: endpoint, curve: security) })
    }

    // Linux's XCTest finds only the tests a class declares itself.
    override func testMessagesArriveWholeAndRepliesReachTheirSender() throws { try super.testMessagesArriveWholeAndRepliesReachTheirSender() }
    override func testOrderIsKeptAndLargeFramesPass() throws { try super.testOrderIsKeptAndLargeFramesPass() }
    override func testAPeerThatLeftIsUnreachableNotAnError() throws { try super.testAPeerThatLeftIsUnreachableNotAnError() }
    override func testWakeEndsAWaitingReceive() throws { try super.testWakeEndsAWaitingReceive() }
}
