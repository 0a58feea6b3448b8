import CZeroMQ
import Foundation

/// The process's ZeroMQ context, created on first use and kept for the process's life
/// (terminating it would wait for every socket, including those of other transports).
enum ZeroMQContext {
    nonisolated(unsafe) static let shared: UnsafeMutableRawPointer = {
        guard let context = zmq_ctx_new() else { fatalError("zmq_ctx_new failed: \(ZeroMQError.last("creating a context"))") }
        return context
    }()
}

/// A libzmq call that failed, with what was being done and libzmq's reason.
struct ZeroMQError: Error, CustomStringConvertible {
    let code: Int32
    let message: String
    var description: String { message }

    static func last(_ doing: String) -> ZeroMQError {
        let code = zmq_errno()
        return ZeroMQError(code: code, message: "\(doing): \(String(cString: zmq_strerror(code)))")
    }
}

/// One socket, used by one thread at a time (its owner's I/O thread).
final class ZeroMQSocket {
    let handle: UnsafeMutableRawPointer

    init(type: Int32) throws {
        guard let handle = zmq_socket(ZeroMQContext.shared, type) else { throw ZeroMQError.last("creating a socket") }
        self.handle = handle
    }

    deinit { zmq_close(handle) }

    func set(_ option: Int, _ value: Int32) throws {
        var v = value
        guard zmq_setsockopt(handle, Int32(option), &v, MemoryLayout<Int32>.size) == 0 else {
            throw ZeroMQError.last("setting socket option \(option)")
        }
    }

    func set(_ option: Int, _ value: Int64) throws {
        var v = value
        guard zmq_setsockopt(handle, Int32(option), &v, MemoryLayout<Int64>.size) == 0 else {
            throw ZeroMQError.last("setting socket option \(option)")
        }
    }

    func set(_ option: Int, text: String) throws {
        let bytes = Array(text.utf8)
        guard zmq_setsockopt(handle, Int32(option), bytes, bytes.count) == 0 else {
            throw ZeroMQError.last("setting socket option \(option)")
        }
    }

    func bind(_ endpoint: String) throws {
        guard zmq_bind(handle, endpoint) == 0 else { throw FleetTransportError("cannot bind \(endpoint): \(ZeroMQError.last("bind"))") }
    }

    func connect(_ endpoint: String) throws {
        guard zmq_connect(handle, endpoint) == 0 else { throw FleetTransportError("cannot connect to \(endpoint): \(ZeroMQError.last("connect"))") }
    }

    /// The endpoint actually bound (a `tcp://*:0` bind picks a free port).
    var lastEndpoint: String {
        var buffer = [CChar](repeating: 0, count: 256)
        var length = buffer.count
        guard zmq_getsockopt(handle, Int32(ILI_ZMQ_LAST_ENDPOINT), &buffer, &length) == 0 else { return "" }
        return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    /// Sends `frames` as one message without blocking.
    func send(_ frames: [[UInt8]]) -> SendOutcome {
        for (i, frame) in frames.enumerated() {
            let flags = Int32(ILI_ZMQ_DONTWAIT) | (i < frames.count - 1 ? Int32(ILI_ZMQ_SNDMORE) : 0)
            let rc = frame.withUnsafeBytes { zmq_send(handle, $0.baseAddress, frame.count, flags) }
            if rc < 0 {
                // Only the first frame can fail this way: later frames of a started message always queue.
                let code = zmq_errno()
                return code == EHOSTUNREACH ? .unreachable : .congested   // libzmq uses the system's errno where it has one
            }
        }
        return .sent
    }

    /// The next whole message, without blocking; nil when none is waiting.
    func receive() throws -> [[UInt8]]? {
        var frames: [[UInt8]] = []
        var message = zmq_msg_t()
        while true {
            zmq_msg_init(&message)
            defer { zmq_msg_close(&message) }
            if zmq_msg_recv(&message, handle, frames.isEmpty ? Int32(ILI_ZMQ_DONTWAIT) : 0) < 0 {
                let code = zmq_errno()
                if frames.isEmpty && (code == EAGAIN || code == EINTR) { return nil }
                throw ZeroMQError.last("receiving")
            }
            let size = zmq_msg_size(&message)
            if let data = zmq_msg_data(&message), size > 0 {
                frames.append(Array(UnsafeRawBufferPointer(start: data, count: size)))
            } else {
                frames.append([])
            }
            if zmq_msg_more(&message) == 0 { return frames }
        }
    }
}

/// A pipe whose read end joins a `zmq_poll`, so that another thread can end a wait.
final class WakePipe: @unchecked Sendable {
    let readEnd: Int32
    let writeEnd: Int32

    init() throws {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw FleetTransportError("cannot create a pipe: \(String(cString: strerror(errno)))") }
        for fd in fds { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        (readEnd, writeEnd) = (fds[0], fds[1])
    }

    deinit {
        close(readEnd)
        close(writeEnd)
    }

    func wake() {
        var byte: UInt8 = 1
        _ = write(writeEnd, &byte, 1)
    }

    func drain() {
        var buffer = [UInt8](repeating: 0, count: 64)
        while read(readEnd, &buffer, buffer.count) > 0 {}
    }

    /// Waits up to `timeout` seconds for any of `sockets` to have a message or for a wake.
    func poll(_ sockets: [ZeroMQSocket], timeout: Double) throws {
        var items = sockets.map { zmq_pollitem_t(socket: $0.handle, fd: 0, events: Int16(ILI_ZMQ_POLLIN), revents: 0) }
        items.append(zmq_pollitem_t(socket: nil, fd: readEnd, events: Int16(ILI_ZMQ_POLLIN), revents: 0))
        let rc = zmq_poll(&items, Int32(items.count), max(0, Int(timeout * 1000)))
        if rc < 0 && zmq_errno() != EINTR { throw ZeroMQError.last("polling") }
        if items.last!.revents != 0 { drain() }
    }
}
