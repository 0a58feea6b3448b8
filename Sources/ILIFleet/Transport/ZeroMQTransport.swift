import CZeroMQ
import Foundation

/// The coordinator's ROUTER sockets: one for `tcp://` endpoints (with CURVE when keys are
/// given) and one for `inproc://` and `ipc://` endpoints, which need none. A peer's id is
/// its socket's index followed by the routing id ZeroMQ gave it.
public final class ZeroMQServerTransport: FleetServerTransport, @unchecked Sendable {
    private var sockets: [ZeroMQSocket] = []
    private let wakePipe: WakePipe
    private var next = 0
    /// The endpoints as bound (a `tcp://…:0` endpoint shows its port).
    public private(set) var boundEndpoints: [String] = []

    /// Binds every endpoint. tcp endpoints need `curve` unless `insecure` (loopback
    /// benchmarks and tests); `curve` applies to tcp endpoints only.
    public init(endpoints: [String], curve: CurveServerSecurity?, insecure: Bool = false, limits: FleetLimits = FleetLimits()) throws {
        wakePipe = try WakePipe()
        let network = endpoints.filter { $0.hasPrefix("tcp://") }
        let local = endpoints.filter { !$0.hasPrefix("tcp://") }
        if let bad = local.first(where: { !$0.hasPrefix("inproc://") && !$0.hasPrefix("ipc://") }) {
            throw FleetTransportError("cannot bind \(bad): endpoints are tcp://HOST:PORT, ipc://PATH or inproc://NAME")
        }
        if !network.isEmpty && curve == nil && !insecure {
            throw FleetTransportError("\(network.joined(separator: ", ")): tcp endpoints are encrypted and authenticated with CURVE; give the coordinator's secret key and the allowed worker keys (see `ili keys generate`), or --insecure for a trusted loopback test")
        }
        for (group, secure) in [(network, curve), (local, nil)] where !group.isEmpty {
            let socket = try ZeroMQSocket(type: Int32(ILI_ZMQ_ROUTER))
            try socket.set(ILI_ZMQ_ROUTER_MANDATORY, Int32(1))
            try socket.set(ILI_ZMQ_LINGER, Int32(2_000))   // the last messages (shutdown) still go out after close
            try socket.set(ILI_ZMQ_MAXMSGSIZE, Int64(limits.maxMessageBytes))
            try socket.set(ILI_ZMQ_SNDHWM, Int32(10_000))
            try socket.set(ILI_ZMQ_RCVHWM, Int32(10_000))
            if let secure { try secure.apply(to: socket) }
            for endpoint in group {
                try socket.bind(endpoint)
                boundEndpoints.append(endpoint.hasSuffix(":0") || endpoint.contains("*") ? socket.lastEndpoint : endpoint)
            }
            sockets.append(socket)
        }
    }

    public func receive(timeout: Double) throws -> (peer: PeerID, frames: [[UInt8]])? {
        if let found = try receiveNow() { return found }
        try wakePipe.poll(sockets, timeout: timeout)
        return try receiveNow()
    }

    /// Takes the sockets in turn, so that a busy one does not starve the other.
    private func receiveNow() throws -> (peer: PeerID, frames: [[UInt8]])? {
        for k in 0..<sockets.count {
            let index = (next + k) % sockets.count
            guard var frames = try sockets[index].receive() else { continue }
            next = (index + 1) % sockets.count
            guard !frames.isEmpty else { continue }
            let routing = frames.removeFirst()
            return (PeerID([UInt8(index)] + routing), frames)
        }
        return nil
    }

    public func send(_ frames: [[UInt8]], to peer: PeerID) throws -> SendOutcome {
        guard let index = peer.bytes.first.map(Int.init), index < sockets.count else { return .unreachable }
        return sockets[index].send([Array(peer.bytes.dropFirst())] + frames)
    }

    public func wake() { wakePipe.wake() }

    public func close() { sockets = [] }
}

/// A worker's DEALER socket connected to the coordinator.
public final class ZeroMQClientTransport: FleetClientTransport, @unchecked Sendable {
    private var socket: ZeroMQSocket?
    private let wakePipe: WakePipe

    /// Connects to `endpoint`; tcp endpoints need `curve` unless `insecure`.
    public init(endpoint: String, curve: CurveClientSecurity?, insecure: Bool = false) throws {
        wakePipe = try WakePipe()
        guard endpoint.hasPrefix("tcp://") || endpoint.hasPrefix("ipc://") || endpoint.hasPrefix("inproc://") else {
            throw FleetTransportError("cannot connect to \(endpoint): endpoints are tcp://HOST:PORT, ipc://PATH or inproc://NAME")
        }
        if endpoint.hasPrefix("tcp://") && curve == nil && !insecure {
            throw FleetTransportError("\(endpoint): tcp connections are encrypted with CURVE; give this worker's key pair and the coordinator's public key (see `ili keys generate`), or --insecure for a trusted loopback test")
        }
        let socket = try ZeroMQSocket(type: Int32(ILI_ZMQ_DEALER))
        try socket.set(ILI_ZMQ_LINGER, Int32(2_000))   // results queued at shutdown still go out
        try socket.set(ILI_ZMQ_IMMEDIATE, Int32(1))     // nothing queues for a connection not yet made
        try socket.set(ILI_ZMQ_SNDHWM, Int32(10_000))
        try socket.set(ILI_ZMQ_RCVHWM, Int32(10_000))
        try socket.set(ILI_ZMQ_RECONNECT_IVL, Int32(100))
        try socket.set(ILI_ZMQ_RECONNECT_IVL_MAX, Int32(5_000))
        if endpoint.hasPrefix("tcp://"), let curve { try curve.apply(to: socket) }
        try socket.connect(endpoint)
        self.socket = socket
    }

    public func receive(timeout: Double) throws -> [[UInt8]]? {
        guard let socket else { return nil }
        if let frames = try socket.receive() { return frames }
        try wakePipe.poll([socket], timeout: timeout)
        return try socket.receive()
    }

    public func send(_ frames: [[UInt8]]) throws -> SendOutcome { socket?.send(frames) ?? .unreachable }
    public func wake() { wakePipe.wake() }
    public func close() { socket = nil }
}
