@testable import ILIFleet
import ILIRounds
import XCTest

final class FleetCodecTests: XCTestCase {
    func roundTrip(_ message: FleetMessage, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(try FleetCodec.decode(FleetCodec.encode(message)), message, file: file, line: line)
    }

    func testEveryMessageTypeSurvivesEncodingAndDecoding() throws {
        try roundTrip(.hello(Hello(worker: "sim-1@node7", kind: .simulator, credit: 3, capabilities: ["simulator": "two_moons"])))
        try roundTrip(.welcome(Welcome(experiment: "e", thetaDim: 2, xShape: [2], heartbeatMs: 1000, timeoutMs: 10000,
                                       maxMessageBytes: 1 << 20, prior: "{\"uniform\":{}}")))
        try roundTrip(.task(TaskBatch(batch: "b1", experiment: "e", round: 3, taskIds: ["e/r3/train/0", "e/r3/train/1"],
                                      seeds: [0, UInt64.max], xCount: 2, theta: FleetArray(float64: [0.1, -0.2, 1e300, -0], shape: [2, 2]))))
        try roundTrip(.result(ResultBatch(batch: "b1", taskIds: ["a", "b"], failures: [nil, "crashed: signal 9"],
                                          x: FleetArray(float32: [1, 2, .nan, .nan], shape: [2, 2]))))
        try roundTrip(.pairs(PairBatch(batch: "p1", taskIds: ["p/0"], theta: FleetArray(float32: [0.5, 0.25], shape: [1, 2]),
                                       x: FleetArray(float64: [3, 4, 5], shape: [1, 3]))))
        try roundTrip(.ack(Ack(batch: "b1", accepted: 99, duplicates: 1)))
        try roundTrip(.heartbeat(Heartbeat()))
        try roundTrip(.job(JobOffer(experiment: "e", round: 1, roundId: 17, jobs: [4, 5])))
        try roundTrip(.jobDone(JobDone(job: 4, modelVersion: 9, reason: nil)))
        try roundTrip(.error(FleetError(code: .notAccepting, message: "later", batch: "p1", retryAfterMs: 1000)))
        try roundTrip(.shutdown(Shutdown(reason: "experiment done")))
    }

    func testTheWireFormatIsTheDocumentedOne() throws {
        let frames = FleetCodec.encode(.task(TaskBatch(batch: "b7", experiment: "e", round: 0, taskIds: ["t"], seeds: [42], xCount: 1,
                                                      theta: FleetArray(float64: [1.5], shape: [1, 1]))))
        XCTAssertEqual(frames.count, 4)
        XCTAssertEqual(String(decoding: frames[0], as: UTF8.self), "ili-fleet/1")
        XCTAssertEqual(String(decoding: frames[1], as: UTF8.self), "task")
        let header = try JSONSerialization.jsonObject(with: Data(frames[2])) as! [String: Any]
        XCTAssertEqual(header["task_ids"] as? [String], ["t"])
        XCTAssertEqual(header["x_count"] as? Int, 1)
        let arrays = header["arrays"] as! [[String: Any]]
        XCTAssertEqual(arrays[0]["name"] as? String, "theta")
        XCTAssertEqual(arrays[0]["dtype"] as? String, "<f8")
        XCTAssertEqual(arrays[0]["shape"] as? [Int], [1, 1])
        XCTAssertEqual(frames[3], [0, 0, 0, 0, 0, 0, 0xF8, 0x3F])   // 1.5, little-endian float64
    }

    func code(_ frames: [[UInt8]], limits: FleetLimits = FleetLimits()) -> FleetErrorCode? {
        do {
            _ = try FleetCodec.decode(frames, limits: limits)
            return nil
        } catch let error as FleetProtocolError {
            XCTAssertFalse(error.message.isEmpty)
            return error.code
        } catch {
            XCTFail("unexpected \(error)")
            return nil
        }
    }

    func resultFrames(shape: [Int], dtype: String = "<f4", body: [UInt8], ids: [String] = ["a"]) -> [[UInt8]] {
        let header = """
            {"batch":"b","task_ids":[\(ids.map { "\"\($0)\"" }.joined(separator: ","))],"failures":[\(ids.map { _ in "null" }.joined(separator: ","))],\
            "arrays":[{"name":"x","shape":[\(shape.map(String.init).joined(separator: ","))],"dtype":"\(dtype)"}]}
            """
        return [Array("ili-fleet/1".utf8), Array("result".utf8), Array(header.utf8), body]
    }

    func testEveryKindOfBadMessageIsRefusedWithItsCode() {
        let tag = Array("ili-fleet/1".utf8)
        XCTAssertEqual(code([tag, Array("heartbeat".utf8)]), .malformed)                                   // too few frames
        XCTAssertEqual(code([Array("HTTP/1.1".utf8), Array("heartbeat".utf8), Array("{}".utf8)]), .malformed)
        XCTAssertEqual(code([Array("ili-fleet/2".utf8), Array("heartbeat".utf8), Array("{}".utf8)]), .version)
        XCTAssertEqual(code([tag, Array("gossip".utf8), Array("{}".utf8)]), .unknownType)
        XCTAssertEqual(code([tag, Array("heartbeat".utf8), Array("{not json".utf8)]), .malformed)
        XCTAssertEqual(code([tag, Array("ack".utf8), Array("{\"batch\":\"b\"}".utf8)]), .malformed)         // missing keys
        XCTAssertEqual(code([tag, Array("heartbeat".utf8), Array("{}".utf8), [1, 2]]), .malformed)         // stray frame
        XCTAssertEqual(code(resultFrames(shape: [1, 2], body: [UInt8](repeating: 0, count: 8))), nil)    // the healthy one
        XCTAssertEqual(code(resultFrames(shape: [1, 2], body: [UInt8](repeating: 0, count: 7))), .shape)  // truncated array
        XCTAssertEqual(code(resultFrames(shape: [1, 2], dtype: "<i4", body: [UInt8](repeating: 0, count: 8))), .shape)
        XCTAssertEqual(code(resultFrames(shape: [1, 2, 1], body: [UInt8](repeating: 0, count: 8))), .shape)
        XCTAssertEqual(code(resultFrames(shape: [1, -2], body: [])), .shape)
        XCTAssertEqual(code(resultFrames(shape: [2, 2], body: [UInt8](repeating: 0, count: 16))), .shape) // 2 rows, 1 task id
        // A 1 GB claim with a tiny frame is refused by arithmetic, before anything is allocated.
        XCTAssertEqual(code(resultFrames(shape: [250_000_000, 1], body: [0, 0, 0, 0])), .tooLarge)
        XCTAssertEqual(code(resultFrames(shape: [Int.max / 2, 4], body: [])), .tooLarge)                  // overflowing claim
        var small = FleetLimits()
        small.maxMessageBytes = 1_000
        XCTAssertEqual(code(resultFrames(shape: [1, 300], body: [UInt8](repeating: 0, count: 1_200)), limits: small), .tooLarge)
        small.maxHeaderBytes = 10
        XCTAssertEqual(code([tag, Array("heartbeat".utf8), Array("{\"padding\": \"xxxxxxxxxx\"}".utf8)], limits: small), .tooLarge)
    }

    func testRandomAndTruncatedFramesNeverCrashTheDecoder() {
        var state: UInt64 = 0x5EED
        func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state >> 17
        }
        let healthy = FleetCodec.encode(.result(ResultBatch(batch: "b", taskIds: ["a", "b"], failures: [nil, nil],
                                                            x: FleetArray(float32: [1, 2, 3, 4], shape: [2, 2]))))
        var refused = 0
        for _ in 0..<2_000 {
            var frames = healthy
            switch next() % 4 {
            case 0:   // random frames
                frames = (0..<Int(next() % 6)).map { _ in (0..<Int(next() % 40)).map { _ in UInt8(truncatingIfNeeded: next()) } }
            case 1:   // truncate a frame
                let f = Int(next() % UInt64(frames.count))
                frames[f] = Array(frames[f].prefix(Int(next() % UInt64(frames[f].count + 1))))
            case 2:   // flip a byte
                let f = Int(next() % UInt64(frames.count))
                if !frames[f].isEmpty { frames[f][Int(next() % UInt64(frames[f].count))] ^= UInt8(truncatingIfNeeded: next() | 1) }
            default:  // drop frames
                frames = Array(frames.prefix(Int(next() % UInt64(frames.count))))
            }
            if (try? FleetCodec.decode(frames)) == nil { refused += 1 }
        }
        XCTAssertGreaterThan(refused, 1_000)
    }
}
