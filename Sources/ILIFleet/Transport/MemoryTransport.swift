import Foundation

/// An in-process network: a server and any number of clients exchanging frames through
/// queues. It keeps the transport contract that ZeroMQ keeps (per-peer identities, messages
/// whole and in order, `unreachable` once a client closed), so the coordinator and the
/// workers can be tested without sockets, and `cut(_:)` makes a client vanish mid-task.
public final class MemoryNetwork: @unchecked Sendable {
    private let lock = NSLock()
    private var server: MemoryServerTransport?
    private var clients: [PeerID: MemoryClientTransport] = [:]
    private var nextPeer: UInt32 = 1

    public init() {}

    public func bind() -> MemoryServerTransport {
        let transport = MemoryServerTransport(network: self)
        lock.withLock { server = transport }
        return transport
    }

    /// A new client; fails when no server is bound (as a ZeroMQ connect would queue, the
    /// client simply waits for replies that do not come).
    public func connect() -> MemoryClientTransport {
        lock.withLock {
            let peer = PeerID(withUnsafeBytes(of: nextPeer.bigEndian) { Array($0) })
            nextPeer += 1
            let client = MemoryClientTransport(network: self, peer: peer)
            clients[peer] = client
            return client
        }
    }

    /// Disconnects `peer` as a crash would: nothing more reaches it or comes from it.
    public func cut(_ peer: PeerID) {
        let client = lock.withLock { clients.removeValue(forKey: peer) }
        client?.close()
    }

    public var connectedPeers: [PeerID] { lock.withLock { Array(clients.keys) } }

    func deliverToServer(_ frames: [[UInt8]], from peer: PeerID) -> SendOutcome {
        let target = lock.withLock { clients[peer] != nil ? server : nil }
        guard let target else { return .unreachable }
        target.inbox.put((peer, frames))
        return .sent
    }

    func deliverToClient(_ frames: [[UInt8]], peer: PeerID) -> SendOutcome {
        guard let client = lock.withLock({ clients[peer] }) else { return .unreachable }
        client.inbox.put(frames)
        return .sent
    }

    func remove(_ peer: PeerID) { _ = lock.withLock { clients.removeValue(forKey: peer) } }
}

/// A queue that a receiver waits on; `wake` ends one wait early.
final class WaitQueue<Element>: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [Element] = []
    private var head = 0
    private var woken = false
    private var closed = false

    func put(_ item: Element) {
        condition.withLock {
            guard !closed else { return }
            items.append(item)
            condition.signal()
        }
    }

    func wake() { condition.withLock { woken = true; condition.signal() } }
    func close() { condition.withLock { closed = true; condition.broadcast() } }

    func take(timeout: Double) -> Element? {
        condition.withLock {
            let deadline = Date().addingTimeInterval(max(0, timeout))
            while head == items.count && !woken && !closed {
                if !condition.wait(until: deadline) { break }
            }
            woken = false
            guard head < items.count else { return nil }
            let item = items[head]
            head += 1
            if head > 1024 && head * 2 > items.count { items.removeFirst(head); head = 0 }
            return item
        }
    }
}

public final class MemoryServerTransport: FleetServerTransport, @unchecked Sendable {
    let network: MemoryNetwork
    let inbox = WaitQueue<(PeerID, [[UInt8]])>()

    init(network: MemoryNetwork) { self.network = network }

    public func receive(timeout: Double) throws -> (peer: PeerID, frames: [[UInt8]])? {
        inbox.take(timeout: timeout).map { (peer: $0.0, frames: $0.1) }
    }

    public func send(_ frames: [[UInt8]], to peer: PeerID) throws -> SendOutcome { network.deliverToClient(frames, peer: peer) }
    public func wake() { inbox.wake() }
    public func close() { inbox.close() }
}

public final class MemoryClientTransport: FleetClientTransport, @unchecked Sendable {
    let network: MemoryNetwork
    public let peer: PeerID
    let inbox = WaitQueue<[[UInt8]]>()

    init(network: MemoryNetwork, peer: PeerID) {
        self.network = network
        self.peer = peer
    }

    public func receive(timeout: Double) throws -> [[UInt8]]? { inbox.take(timeout: timeout) }
    public func send(_ frames: [[UInt8]]) throws -> SendOutcome { network.deliverToServer(frames, from: peer) }
    public func wake() { inbox.wake() }

    public func close() {
        network.remove(peer)
        inbox.close()
    }
}
