/// The identity a server transport gives each connected peer (ZeroMQ's routing id).
public struct PeerID: Hashable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public var description: String { bytes.map { String(format: "%02x", $0) }.joined() }
}

/// What sending to a peer came to. A peer that is gone or congested is the coordinator's
/// business (its tasks time out), never an error that stops the loop.
public enum SendOutcome: Sendable, Equatable {
    case sent
    /// The peer is no longer connected.
    case unreachable
    /// The peer's queue is full; the message was dropped.
    case congested
}

/// The coordinator's side of a transport: many peers, each message tagged with its sender.
///
/// `receive` and `send` are called from one thread only (the coordinator's I/O thread),
/// which owns the underlying socket; `wake` may be called from any thread and makes a
/// waiting `receive` return early.
public protocol FleetServerTransport: AnyObject, Sendable {
    /// The next message and its sender, waiting up to `timeout` seconds; nil when none came
    /// (or `wake` was called).
    func receive(timeout: Double) throws -> (peer: PeerID, frames: [[UInt8]])?
    @discardableResult func send(_ frames: [[UInt8]], to peer: PeerID) throws -> SendOutcome
    func wake()
    func close()
}

/// A worker's side: one connection to the coordinator, with the same threading rules.
public protocol FleetClientTransport: AnyObject, Sendable {
    func receive(timeout: Double) throws -> [[UInt8]]?
    @discardableResult func send(_ frames: [[UInt8]]) throws -> SendOutcome
    func wake()
    func close()
}

/// A transport failure that is not about one peer (a bad endpoint, a closed context).
public struct FleetTransportError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
