import Foundation

/// A worker's link to the coordinator, on its own thread: says hello until welcomed,
/// heartbeats, answers nothing itself, reconnects with doubling backoff when the
/// coordinator goes silent or forgets us, and hands every other message to `onMessage`.
/// Other threads send through `send`, which queues the message and wakes the I/O thread.
final class WorkerConnection: @unchecked Sendable {
    let connect: @Sendable () throws -> any FleetClientTransport
    let hello: Hello
    let settings: WorkerSettings
    let events: @Sendable (WorkerEvent) -> Void
    let onMessage: @Sendable (FleetMessage) -> Void
    let clock: @Sendable () -> Double

    // Guarded by `condition`.
    private let condition = NSCondition()
    private var outbox: [FleetMessage] = []
    private var closing = false
    private var finished = false
    private var current: (any FleetClientTransport)?

    init(connect: @escaping @Sendable () throws -> any FleetClientTransport, hello: Hello, settings: WorkerSettings,
         clock: @escaping @Sendable () -> Double = FleetClock.monotonic,
         events: @escaping @Sendable (WorkerEvent) -> Void, onMessage: @escaping @Sendable (FleetMessage) -> Void) {
        self.connect = connect
        self.hello = hello
        self.settings = settings
        self.clock = clock
        self.events = events
        self.onMessage = onMessage
    }

    func start() {
        let thread = Thread { [self] in serve() }
        thread.name = "ili-worker-io"
        thread.start()
    }

    func send(_ message: FleetMessage) {
        let transport = condition.withLock { () -> (any FleetClientTransport)? in
            outbox.append(message)
            return current
        }
        transport?.wake()
    }

    /// Stops the I/O thread (after sending what is queued) and waits for it.
    func close() {
        let transport = condition.withLock { () -> (any FleetClientTransport)? in
            closing = true
            condition.broadcast()
            return current
        }
        transport?.wake()
        condition.withLock { while !finished { condition.wait() } }
    }

    private var isClosing: Bool { condition.withLock { closing } }

    private func serve() {
        var backoff = settings.initialBackoff
        var failures = 0
        while !isClosing {
            let reason: String
            do {
                let transport = try connect()
                condition.withLock { current = transport }
                reason = try session(transport) { backoff = settings.initialBackoff }
                condition.withLock { current = nil }
                if isClosing {
                    flush(transport)
                    transport.close()
                    break
                }
                transport.close()
            } catch {
                condition.withLock { current = nil }
                reason = "\(error)"
            }
            if isClosing { break }
            failures += 1
            // Spread reconnections of many workers apart: a fixed fraction per worker name.
            let spread = 0.5 + Double(Self.stableHash(hello.worker) % 1000) / 2000
            let delay = min(settings.maxBackoff, backoff) * spread
            events(.reconnecting(reason: reason, delay: delay))
            backoff = min(settings.maxBackoff, backoff * 2)
            condition.withLock { _ = condition.wait(until: Date().addingTimeInterval(delay)) }
        }
        condition.withLock { finished = true; condition.broadcast() }
    }

    /// One connection's life; returns why it ended (when not closing).
    private func session(_ transport: any FleetClientTransport, welcomedNow: () -> Void) throws -> String {
        var welcome: Welcome?
        var heartbeat = settings.heartbeatInterval, timeout = settings.silenceTimeout
        var lastHeard = clock(), lastSent = -Double.infinity, nextHello = -Double.infinity
        while !isClosing {
            let now = clock()
            if welcome == nil && now >= nextHello {
                // Until the connection (and its CURVE handshake) is made, a send is refused
                // rather than queued: try again shortly instead of a whole hello interval later.
                let sent = try transport.send(FleetCodec.encode(.hello(hello))) == .sent
                nextHello = now + (sent ? settings.helloInterval : min(settings.helloInterval, Self.helloRetry))
                lastSent = now
            }
            if welcome != nil {
                let queued = condition.withLock { () -> [FleetMessage] in defer { outbox = [] }; return outbox }
                for message in queued { try transport.send(FleetCodec.encode(message)) }
                if !queued.isEmpty { lastSent = now }
                if now - lastSent >= heartbeat {
                    try transport.send(FleetCodec.encode(.heartbeat(Heartbeat())))
                    lastSent = now
                }
            }
            if now - lastHeard > timeout {
                return welcome == nil ? "no welcome from the coordinator within \(Int(timeout)) s (is it running, and does it accept this worker's key?)"
                                      : "the coordinator was silent for \(Int(now - lastHeard)) s"
            }
            var wait = min(heartbeat, settings.helloInterval, timeout) / 2
            if welcome == nil { wait = min(wait, max(0, nextHello - now)) }
            guard let frames = try transport.receive(timeout: wait) else { continue }
            lastHeard = clock()
            let message: FleetMessage
            do {
                message = try FleetCodec.decode(frames)
            } catch {
                events(.refused(FleetError(code: .malformed, message: "the coordinator sent something unreadable: \(error)")))
                continue
            }
            switch message {
            case .welcome(let w):
                welcome = w
                heartbeat = Double(max(w.heartbeatMs, 1)) / 1000
                timeout = Double(max(w.timeoutMs, 1)) / 1000
                welcomedNow()
                events(.welcomed(w))
                onMessage(message)
            case .heartbeat:
                break
            case .error(let e) where e.code == .unknownWorker:
                // The coordinator restarted or forgot us: greet it again.
                welcome = nil
                nextHello = -Double.infinity
                events(.refused(e))
            case .error(let e):
                events(.refused(e))
                onMessage(message)
            default:
                onMessage(message)
            }
        }
        return "closing"
    }

    /// Seconds between hellos while the connection is not yet made.
    static let helloRetry = 0.05

    /// FNV-1a of the worker's name: the same spread in every run (Swift's own hash is seeded per process).
    static func stableHash(_ text: String) -> UInt64 {
        text.utf8.reduce(0xcbf2_9ce4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
    }

    private func flush(_ transport: any FleetClientTransport) {
        let queued = condition.withLock { () -> [FleetMessage] in defer { outbox = [] }; return outbox }
        for message in queued { _ = try? transport.send(FleetCodec.encode(message)) }
    }
}
