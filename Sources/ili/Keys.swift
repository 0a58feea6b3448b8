import ArgumentParser
import Foundation
import ILIFleet

/// `ili keys generate NAME`: a CURVE key pair for the fleet's tcp endpoints.
struct Keys: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make CURVE key pairs for the coordinator and its workers.",
        subcommands: [Generate.self]
    )

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write NAME.key (the key pair: keep it private) and NAME.pub (the public key to hand out).",
            discussion: """
                The coordinator runs with its own .key and a file of the workers' public keys it \
                accepts; each worker runs with its own .key and the coordinator's .pub:

                  ili keys generate coordinator
                  ili keys generate worker-1
                  cat worker-1.pub >> allowed-workers
                  ili run exp.yaml --bind tcp://*:5555 --key coordinator.key --allowed-keys allowed-workers
                  ili simulate --connect tcp://HOST:5555 --simulator two_moons --key worker-1.key --server-key coordinator.pub

                A worker whose key is not allowed is refused before it can say anything, and the \
                coordinator logs its key and address. inproc:// and ipc:// endpoints need no keys.
                """
        )

        @Argument(help: "The files' path without extension (e.g. keys/worker-1).") var name: String

        func run() throws {
            let pair = try CurveKeyPair.generate()
            let directory = (name as NSString).deletingLastPathComponent
            if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
            try pair.write(to: name)
            print("wrote \(name).key (private: the key pair) and \(name).pub (public key \(pair.publicKey))")
        }
    }
}
