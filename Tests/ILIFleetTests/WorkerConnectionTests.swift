@testable import ILIFleet
import Foundation
import XCTest

/// A worker's connection before the coordinator is reachable: ZeroMQ refuses sends on a
/// connection not yet made (`ZMQ_IMMEDIATE`), so a hello sent too early is lost.
final class WorkerConnectionTests: XCTestCase {
    /// Refuses the first `refusals` sends as a connection still being made does, then
    /// answers the first hello that gets through with a welcome.
    final class LateConnection: FleetClientTransport, @unchecked Sendable {
        private let condition = NSCondition()
        private var refusals: Int
        private var helloSends = 0
        private var inbox: [[[UInt8]]] = []

        init(refusals: Int) { self.refusals = refusals }

        var hellosTried: Int { condition.withLock { helloSends } }

        func send(_ frames: [[UInt8]]) throws -> SendOutcome {
            guard case .hello = try FleetCodec.decode(frames) else { return .sent }
            return condition.withLock {
                helloSends += 1
                if refusals > 0 {
                    refusals -= 1
                    return .congested
                }
                let welcome = Welcome(experiment: "late", thetaDim: 2, xShape: [2], heartbeatMs: 60_000, timeoutMs: 600_000,
                                      maxMessageBytes: 1 << 20, prior: nil)
                inbox.append(FleetCodec.encode(.welcome(welcome)))
                condition.broadcast()
                return .sent
            }
        }

        func receive(timeout: Double) throws -> [[UInt8]]? {
            condition.withLock {
                if inbox.isEmpty { _ = condition.wait(until: Date().addingTimeInterval(timeout)) }
                return inbox.isEmpty ? nil : inbox.removeFirst()
            }
        }

        func wake() { condition.withLock { condition.broadcast() } }
        func close() {}
    }

    func testAHelloRefusedBeforeTheConnectionIsMadeIsRetriedWithoutWaitingAHelloInterval() {
        let transport = LateConnection(refusals: 3)
        var settings = WorkerSettings()
        settings.helloInterval = 3_600   // were refused hellos only repeated this often, no welcome would come
        settings.silenceTimeout = 3_600
        let welcomed = DispatchSemaphore(value: 0)
        let connection = WorkerConnection(connect: { transport }, hello: Hello(worker: "late", kind: .simulator, credit: 1), settings: settings,
                                          events: { if case .welcomed = $0 { welcomed.signal() } }, onMessage: { _ in })
        connection.start()
        defer { connection.close() }
        XCTAssertEqual(welcomed.wait(timeout: .now() + 30), .success, "welcomed once the connection is made")
        XCTAssertEqual(transport.hellosTried, 4, "three refused hellos and the one that got through; none after the welcome")
    }
}
