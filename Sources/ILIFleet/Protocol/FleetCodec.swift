import Foundation

/// Frames ↔ messages, apart from any transport. A message is
///
///     frame 0   "ili-fleet/1"            protocol tag and version
///     frame 1   "task"                   message type
///     frame 2   {"batch": …, …}          JSON header (UTF-8), with "arrays" describing the frames after it
///     frame 3…  raw little-endian floats one array per frame, C order
///
/// `decode` checks every claim against the frames before it allocates anything (a header
/// that claims a gigabyte array is refused by arithmetic, not by trying), and throws a
/// `FleetProtocolError` whose code and message go back to the sender.
public enum FleetCodec {
    public static let tag = "ili-fleet"
    public static let version = 1
    static let versionFrame = Array("\(tag)/\(version)".utf8)

    public static func encode(_ message: FleetMessage) -> [[UInt8]] {
        let header: any Encodable
        var arrays: [(String, FleetArray)] = []
        switch message {
        case .hello(let m): header = m
        case .welcome(let m): header = m
        case .ack(let m): header = m
        case .heartbeat(let m): header = m
        case .job(let m): header = m
        case .jobDone(let m): header = m
        case .error(let m): header = m
        case .shutdown(let m): header = m
        case .task(let m):
            arrays = [("theta", m.theta)]
            header = TaskHeader(batch: m.batch, experiment: m.experiment, round: m.round, taskIds: m.taskIds, seeds: m.seeds,
                                xCount: m.xCount, arrays: describe(arrays))
        case .result(let m):
            arrays = [("x", m.x)]
            header = ResultHeader(batch: m.batch, taskIds: m.taskIds, failures: m.failures, arrays: describe(arrays))
        case .pairs(let m):
            arrays = [("theta", m.theta), ("x", m.x)]
            header = PairHeader(batch: m.batch, taskIds: m.taskIds, arrays: describe(arrays))
        }
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.withoutEscapingSlashes]
        // Every header is made of strings, integers and arrays of them: encoding cannot fail.
        let json = try! encoder.encode(header)
        return [versionFrame, Array(message.type.rawValue.utf8), Array(json)] + arrays.map(\.1.bytes)
    }

    /// The message `frames` carry, or why they are not one.
    public static func decode(_ frames: [[UInt8]], limits: FleetLimits = FleetLimits()) throws -> FleetMessage {
        let total = frames.reduce(0) { $0 + $1.count }
        guard total <= limits.maxMessageBytes else {
            throw FleetProtocolError(.tooLarge, "a message of \(total) bytes; the limit is \(limits.maxMessageBytes)")
        }
        guard frames.count >= 3 else {
            throw FleetProtocolError(.malformed, "a message of \(frames.count) frame(s); the protocol's have at least 3 (tag/version, type, JSON header)")
        }
        let first = String(decoding: frames[0].prefix(64), as: UTF8.self)
        if frames[0] != versionFrame {
            if first.hasPrefix(tag + "/") {
                throw FleetProtocolError(.version, "protocol version \(first.dropFirst(tag.count + 1)); this coordinator speaks \(tag)/\(version)")
            }
            throw FleetProtocolError(.malformed, "frame 0 must be `\(tag)/\(version)`, got \(frames[0].count) bytes that are not")
        }
        let typeName = String(decoding: frames[1].prefix(64), as: UTF8.self)
        guard frames[1].count <= 64, let type = FleetMessageType(rawValue: typeName) else {
            throw FleetProtocolError(.unknownType, "unknown message type `\(typeName.prefix(32))`; known: \(FleetMessageType.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard frames[2].count <= limits.maxHeaderBytes else {
            throw FleetProtocolError(.tooLarge, "a \(type.rawValue) header of \(frames[2].count) bytes; the limit is \(limits.maxHeaderBytes)")
        }
        let header = Data(frames[2])
        let body = Array(frames.dropFirst(3))
        func plain<T: Decodable>(_ kind: T.Type) throws -> T {
            guard body.isEmpty else { throw FleetProtocolError(.malformed, "a \(type.rawValue) message carries no arrays, but it has \(body.count) frame(s) after its header") }
            return try decodeHeader(kind, header, type)
        }
        switch type {
        case .hello:
            let m = try plain(Hello.self)
            guard m.credit >= 0, m.credit <= 1_000 else { throw FleetProtocolError(.malformed, "hello: credit \(m.credit) is outside 0…1000") }
            guard !m.worker.isEmpty, m.worker.utf8.count <= 256 else { throw FleetProtocolError(.malformed, "hello: the worker id must be 1 to 256 bytes") }
            return .hello(m)
        case .welcome: return .welcome(try plain(Welcome.self))
        case .ack: return .ack(try plain(Ack.self))
        case .heartbeat: return .heartbeat(try plain(Heartbeat.self))
        case .job: return .job(try plain(JobOffer.self))
        case .jobDone: return .jobDone(try plain(JobDone.self))
        case .error: return .error(try plain(FleetError.self))
        case .shutdown: return .shutdown(try plain(Shutdown.self))
        case .task:
            let h = try decodeHeader(TaskHeader.self, header, type)
            let arrays = try matchArrays(h.arrays, names: ["theta"], body, limits, batch: h.batch)
            try checkRows(h.taskIds, arrays[0], "theta", batch: h.batch, limits)
            guard h.seeds.count == h.taskIds.count else {
                throw FleetProtocolError(.shape, "task \(h.batch): \(h.seeds.count) seeds for \(h.taskIds.count) tasks", batch: h.batch)
            }
            return .task(TaskBatch(batch: h.batch, experiment: h.experiment, round: h.round, taskIds: h.taskIds, seeds: h.seeds,
                                   xCount: h.xCount, theta: arrays[0]))
        case .result:
            let h = try decodeHeader(ResultHeader.self, header, type)
            let arrays = try matchArrays(h.arrays, names: ["x"], body, limits, batch: h.batch)
            try checkRows(h.taskIds, arrays[0], "x", batch: h.batch, limits)
            guard h.failures.count == h.taskIds.count else {
                throw FleetProtocolError(.shape, "result \(h.batch): \(h.failures.count) statuses for \(h.taskIds.count) tasks", batch: h.batch)
            }
            return .result(ResultBatch(batch: h.batch, taskIds: h.taskIds, failures: h.failures, x: arrays[0]))
        case .pairs:
            let h = try decodeHeader(PairHeader.self, header, type)
            let arrays = try matchArrays(h.arrays, names: ["theta", "x"], body, limits, batch: h.batch)
            try checkRows(h.taskIds, arrays[0], "theta", batch: h.batch, limits)
            try checkRows(h.taskIds, arrays[1], "x", batch: h.batch, limits)
            return .pairs(PairBatch(batch: h.batch, taskIds: h.taskIds, theta: arrays[0], x: arrays[1]))
        }
    }

    // MARK: Headers

    struct ArrayDescriptor: Codable {
        var name: String
        var shape: [Int]
        var dtype: String
    }

    struct TaskHeader: Codable {
        var batch: String
        var experiment: String
        var round: Int
        var taskIds: [String]
        var seeds: [UInt64]
        var xCount: Int
        var arrays: [ArrayDescriptor]
    }

    struct ResultHeader: Codable {
        var batch: String
        var taskIds: [String]
        var failures: [String?]
        var arrays: [ArrayDescriptor]

        // Failures are written out as nulls, so every row has its status.
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(batch, forKey: .batch)
            try c.encode(taskIds, forKey: .taskIds)
            var list = c.nestedUnkeyedContainer(forKey: .failures)
            for f in failures { if let f { try list.encode(f) } else { try list.encodeNil() } }
            try c.encode(arrays, forKey: .arrays)
        }
    }

    struct PairHeader: Codable {
        var batch: String
        var taskIds: [String]
        var arrays: [ArrayDescriptor]
    }

    static func describe(_ arrays: [(String, FleetArray)]) -> [ArrayDescriptor] {
        arrays.map { ArrayDescriptor(name: $0.0, shape: $0.1.shape, dtype: $0.1.dtype.rawValue) }
    }

    static func decodeHeader<T: Decodable>(_ kind: T.Type, _ data: Data, _ type: FleetMessageType) throws -> T {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        do {
            return try decoder.decode(kind, from: data)
        } catch let error as DecodingError {
            throw FleetProtocolError(.malformed, "the \(type.rawValue) header: \(describe(error))")
        } catch {
            throw FleetProtocolError(.malformed, "the \(type.rawValue) header is not JSON: \(error)")
        }
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            keys.isEmpty ? "the header" : keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context):
            let inner = context.codingPath.isEmpty ? "" : " in \(path(context.codingPath))"
            return "missing key `\(snakeCase(key.stringValue))`\(inner)"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "`\(path(context.codingPath).split(separator: ".").map { snakeCase(String($0)) }.joined(separator: "."))` has the wrong type"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "not a JSON object" : "`\(path(context.codingPath))`: \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }

    static func snakeCase(_ name: String) -> String {
        name.reduce(into: "") { out, c in
            if c.isUppercase { out += "_" + c.lowercased() } else { out.append(c) }
        }
    }

    // MARK: Arrays

    /// The arrays `descriptors` announce, checked against the frames that carry them.
    static func matchArrays(_ descriptors: [ArrayDescriptor], names: [String], _ frames: [[UInt8]], _ limits: FleetLimits,
                            batch: String) throws -> [FleetArray] {
        guard descriptors.map(\.name) == names else {
            throw FleetProtocolError(.shape, "batch \(batch): the header's arrays are [\(descriptors.map(\.name).joined(separator: ", "))]; this message carries [\(names.joined(separator: ", "))]", batch: batch)
        }
        guard frames.count == descriptors.count else {
            throw FleetProtocolError(.malformed, "batch \(batch): the header describes \(descriptors.count) array(s) but \(frames.count) frame(s) follow it", batch: batch)
        }
        return try zip(descriptors, frames).map { d, frame in
            guard let dtype = FleetArray.DType(rawValue: d.dtype) else {
                throw FleetProtocolError(.shape, "batch \(batch): array `\(d.name)` has dtype `\(d.dtype.prefix(16))`; use <f4 or <f8 (little-endian float32/float64)", batch: batch)
            }
            guard d.shape.count == 2 else {
                throw FleetProtocolError(.shape, "batch \(batch): array `\(d.name)` has \(d.shape.count) dimension(s); it must be 2-D (rows × values)", batch: batch)
            }
            var bytes = dtype.byteCount
            for n in d.shape {
                guard n >= 0 else { throw FleetProtocolError(.shape, "batch \(batch): array `\(d.name)` has a negative dimension \(n)", batch: batch) }
                let (product, overflow) = bytes.multipliedReportingOverflow(by: n)
                guard !overflow, product <= limits.maxMessageBytes else {
                    throw FleetProtocolError(.tooLarge, "batch \(batch): array `\(d.name)` of shape \(d.shape) would be larger than the \(limits.maxMessageBytes)-byte limit", batch: batch)
                }
                bytes = product
            }
            guard bytes == frame.count else {
                throw FleetProtocolError(.shape, "batch \(batch): array `\(d.name)` of shape \(d.shape) and dtype \(d.dtype) needs \(bytes) bytes, its frame has \(frame.count)", batch: batch)
            }
            return FleetArray(shape: d.shape, dtype: dtype, bytes: frame)
        }
    }

    static func checkRows(_ taskIds: [String], _ array: FleetArray, _ name: String, batch: String, _ limits: FleetLimits) throws {
        guard taskIds.count <= limits.maxRowsPerBatch else {
            throw FleetProtocolError(.tooLarge, "batch \(batch): \(taskIds.count) rows; the limit is \(limits.maxRowsPerBatch) per message", batch: batch)
        }
        guard array.rows == taskIds.count else {
            throw FleetProtocolError(.shape, "batch \(batch): \(taskIds.count) task ids but \(array.rows) rows of \(name)", batch: batch)
        }
        if let bad = taskIds.first(where: { $0.isEmpty || $0.utf8.count > 256 }) {
            throw FleetProtocolError(.malformed, "batch \(batch): task id `\(bad.prefix(40))` must be 1 to 256 bytes", batch: batch)
        }
    }
}

/// What a coordinator reads at most; larger claims are refused before anything is allocated.
public struct FleetLimits: Sendable, Equatable {
    public var maxMessageBytes = 64 << 20
    public var maxHeaderBytes = 1 << 20
    public var maxRowsPerBatch = 100_000

    public init() {}
}

/// A message that breaks the protocol: its code and a message naming the frame or field.
public struct FleetProtocolError: Error, CustomStringConvertible, Sendable, Equatable {
    public var code: FleetErrorCode
    public var message: String
    public var batch: String?

    public init(_ code: FleetErrorCode, _ message: String, batch: String? = nil) {
        self.code = code
        self.message = message
        self.batch = batch
    }

    public var description: String { "\(code.rawValue): \(message)" }
    /// The error message sent back to the peer.
    public var reply: FleetMessage { .error(FleetError(code: code, message: message, batch: batch)) }
}
