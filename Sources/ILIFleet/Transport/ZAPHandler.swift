import CZeroMQ
import Foundation

/// The ZeroMQ authentication handler (ZAP, RFC 27) of this process: libzmq asks it, over
/// `inproc://zeromq.zap.01`, whether each CURVE client may connect, and it answers from the
/// allowed keys of the socket's domain. It runs on its own thread from the first CURVE
/// server socket on, and tells the socket's owner about every refusal.
final class ZAPHandler: @unchecked Sendable {
    static let shared = ZAPHandler()

    private let lock = NSLock()
    private var domains: [String: CurveServerSecurity] = [:]
    private var started = false

    /// Registers a server's allowed keys under a new domain, starting the handler if needed.
    func register(_ security: CurveServerSecurity) -> String {
        lock.withLock {
            let domain = "ili-\(domains.count + 1)"
            domains[domain] = security
            if !started {
                started = true
                let ready = DispatchSemaphore(value: 0)
                let thread = Thread { [self] in serve(ready: ready) }
                thread.name = "ili-zap"
                thread.start()
                ready.wait()
            }
            return domain
        }
    }

    private func serve(ready: DispatchSemaphore) {
        guard let socket = try? ZeroMQSocket(type: Int32(ILI_ZMQ_REP)),
              (try? socket.set(ILI_ZMQ_LINGER, Int32(0))) != nil,
              (try? socket.bind("inproc://zeromq.zap.01")) != nil else {
            ready.signal()
            return   // without a handler libzmq refuses every CURVE client: safe, if unhelpful
        }
        ready.signal()
        let pipe = try? WakePipe()
        while true {
            try? pipe?.poll([socket], timeout: 1)
            guard let request = try? socket.receive() else { continue }
            _ = socket.send(answer(request))
        }
    }

    /// Frames: version, request id, domain, address, identity, mechanism, credentials…
    func answer(_ request: [[UInt8]]) -> [[UInt8]] {
        func reply(_ code: String, _ text: String) -> [[UInt8]] {
            [Array("1.0".utf8), request.count > 1 ? request[1] : [], Array(code.utf8), Array(text.utf8), Array("".utf8), []]
        }
        guard request.count >= 7, String(decoding: request[0], as: UTF8.self) == "1.0" else { return reply("500", "malformed ZAP request") }
        let domain = String(decoding: request[2], as: UTF8.self)
        let address = String(decoding: request[3], as: UTF8.self)
        let mechanism = String(decoding: request[5], as: UTF8.self)
        guard let security = lock.withLock({ domains[domain] }) else { return reply("400", "unknown domain") }
        guard mechanism == "CURVE", request[6].count == 32 else {
            security.onRefused("(\(mechanism) without a CURVE key)", address)
            return reply("400", "CURVE required")
        }
        let key = Z85.encode(request[6])
        guard security.allowed.keys[key] != nil else {
            security.onRefused(key, address)
            return reply("400", "key not allowed")
        }
        return reply("200", "OK")
    }
}

/// Z85 (ZeroMQ RFC 32) encoding of 4-byte groups, for naming keys in logs and checks.
enum Z85 {
    static let alphabet = Array("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#")

    static func encode(_ bytes: [UInt8]) -> String {
        precondition(bytes.count % 4 == 0, "Z85 encodes whole 4-byte groups")
        var out = ""
        for group in stride(from: 0, to: bytes.count, by: 4) {
            var value = bytes[group..<group + 4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            var chars = [Character](repeating: "0", count: 5)
            for i in (0..<5).reversed() {
                chars[i] = alphabet[Int(value % 85)]
                value /= 85
            }
            out += String(chars)
        }
        return out
    }
}
