import CZeroMQ
import Foundation

/// A CURVE key pair as Z85 text (40 characters each), and the files `ili keys generate`
/// writes: `NAME.key` (both keys; keep it private) and `NAME.pub` (the public key alone,
/// to hand to the other side).
public struct CurveKeyPair: Sendable, Equatable {
    public var publicKey: String
    public var secretKey: String

    /// Whether this libzmq was built with CURVE (libsodium or its own TweetNaCl).
    public static var isAvailable: Bool { zmq_has("curve") != 0 }

    public static func generate() throws -> CurveKeyPair {
        guard isAvailable else { throw FleetTransportError("this libzmq was built without CURVE, so tcp endpoints cannot be secured; `ili doctor` shows it") }
        var publicKey = [CChar](repeating: 0, count: 41), secretKey = [CChar](repeating: 0, count: 41)
        guard zmq_curve_keypair(&publicKey, &secretKey) == 0 else { throw ZeroMQError.last("generating a CURVE key pair") }
        return CurveKeyPair(publicKey: publicKey.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }, secretKey: secretKey.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
    }

    /// Writes `base.key` (mode 600) and `base.pub`; refuses to overwrite either.
    public func write(to base: String) throws {
        let fm = FileManager.default
        for path in [base + ".key", base + ".pub"] where fm.fileExists(atPath: path) {
            throw FleetTransportError("\(path) exists; remove it first or choose another name (a key is never overwritten)")
        }
        let secretText = """
            # ili CURVE key pair. Keep this file private: it proves who you are.
            # Give the .pub file beside it to the other side.
            public-key = \(publicKey)
            secret-key = \(secretKey)

            """
        guard fm.createFile(atPath: base + ".key", contents: Data(secretText.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw FleetTransportError("cannot write \(base).key")
        }
        try "# ili CURVE public key\npublic-key = \(publicKey)\n".write(toFile: base + ".pub", atomically: true, encoding: .utf8)
    }

    /// Reads a `.key` file.
    public static func load(secretFile path: String) throws -> CurveKeyPair {
        let fields = try keyFields(path)
        guard let secret = fields["secret-key"] else {
            throw FleetTransportError("\(path) holds no `secret-key = …` line; give the .key file `ili keys generate` wrote, not the .pub")
        }
        var derived = [CChar](repeating: 0, count: 41)
        guard zmq_curve_public(&derived, secret) == 0 else { throw FleetTransportError("\(path): the secret key is not a CURVE key") }
        let publicKey = derived.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        if let stated = fields["public-key"], stated != publicKey {
            throw FleetTransportError("\(path): its public-key does not belong to its secret-key")
        }
        return CurveKeyPair(publicKey: publicKey, secretKey: secret)
    }

    /// Reads the public key of a `.pub` (or `.key`) file.
    public static func loadPublic(_ path: String) throws -> String {
        guard let key = try keyFields(path)["public-key"] else {
            throw FleetTransportError("\(path) holds no `public-key = …` line")
        }
        return key
    }

    /// `name = value` lines, each value checked to be a Z85 key.
    static func keyFields(_ path: String) throws -> [String: String] {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw FleetTransportError("cannot read the key file \(path): \(error.localizedDescription)")
        }
        var fields: [String: String] = [:]
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2 else { throw FleetTransportError("\(path):\(n + 1): expected `name = value`") }
            let value = parts[1].trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
            guard isZ85Key(value) else { throw FleetTransportError("\(path):\(n + 1): `\(parts[0])` is not a 40-character Z85 key") }
            fields[parts[0]] = value
        }
        return fields
    }

    static func isZ85Key(_ text: String) -> Bool {
        let alphabet = Set("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#")
        return text.count == 40 && text.allSatisfy(alphabet.contains)
    }
}

/// The public keys of the workers a coordinator accepts: a file with one key per line
/// (a bare Z85 key, optionally followed by a name, or a `public-key = …` line as in a
/// `.pub` file, so `cat worker.pub >> allowed-workers` works); `#` starts a comment.
public struct AllowedKeys: Sendable, Equatable {
    public var keys: [String: String]

    public init(keys: [String: String]) { self.keys = keys }

    public static func load(_ path: String) throws -> AllowedKeys {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw FleetTransportError("cannot read the allowed keys file \(path): \(error.localizedDescription)")
        }
        var keys: [String: String] = [:]
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("public-key") {
                line = line.split(separator: "=", maxSplits: 1).last.map { $0.trimmingCharacters(in: CharacterSet(charactersIn: " \"'")) } ?? ""
            }
            let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
            guard let key = parts.first, CurveKeyPair.isZ85Key(key) else {
                throw FleetTransportError("\(path):\(n + 1): not a 40-character Z85 public key")
            }
            keys[key] = parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : "line \(n + 1)"
        }
        return AllowedKeys(keys: keys)
    }
}

/// What a coordinator's tcp socket needs for CURVE: its key pair and the workers it accepts.
public struct CurveServerSecurity: Sendable {
    public var keys: CurveKeyPair
    public var allowed: AllowedKeys
    /// Told about every worker refused (its key and address).
    public var onRefused: @Sendable (_ publicKey: String, _ address: String) -> Void

    public init(keys: CurveKeyPair, allowed: AllowedKeys, onRefused: @escaping @Sendable (String, String) -> Void = { _, _ in }) {
        self.keys = keys
        self.allowed = allowed
        self.onRefused = onRefused
    }

    func apply(to socket: ZeroMQSocket) throws {
        guard CurveKeyPair.isAvailable else { throw FleetTransportError("this libzmq was built without CURVE; `ili doctor` shows it") }
        let domain = ZAPHandler.shared.register(self)
        try socket.set(ILI_ZMQ_CURVE_SERVER, Int32(1))
        try socket.set(ILI_ZMQ_CURVE_SECRETKEY, text: keys.secretKey)
        try socket.set(ILI_ZMQ_ZAP_DOMAIN, text: domain)
    }
}

/// What a worker needs to reach a CURVE coordinator: its own key pair and the coordinator's public key.
public struct CurveClientSecurity: Sendable, Equatable {
    public var keys: CurveKeyPair
    public var serverKey: String

    public init(keys: CurveKeyPair, serverKey: String) {
        self.keys = keys
        self.serverKey = serverKey
    }

    func apply(to socket: ZeroMQSocket) throws {
        guard CurveKeyPair.isAvailable else { throw FleetTransportError("this libzmq was built without CURVE; `ili doctor` shows it") }
        try socket.set(ILI_ZMQ_CURVE_SERVERKEY, text: serverKey)
        try socket.set(ILI_ZMQ_CURVE_PUBLICKEY, text: keys.publicKey)
        try socket.set(ILI_ZMQ_CURVE_SECRETKEY, text: keys.secretKey)
    }
}
