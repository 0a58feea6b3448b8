import ArgumentParser
import ILIFleet

/// CURVE options for commands that connect to a coordinator.
struct WorkerSecurityOptions: ParsableArguments {
    @Option(help: ArgumentHelp("This worker's key pair (the .key file of `ili keys generate`); tcp only.", valueName: "file"))
    var key: String?
    @Option(help: ArgumentHelp("The coordinator's public key (its .pub file); tcp only.", valueName: "file"))
    var serverKey: String?
    @Flag(help: "Connect over tcp without CURVE (a trusted loopback test or benchmark only).") var insecure = false

    func security() throws -> CurveClientSecurity? {
        switch (key, serverKey) {
        case (nil, nil): return nil
        case (let key?, let server?): return CurveClientSecurity(keys: try CurveKeyPair.load(secretFile: key), serverKey: try CurveKeyPair.loadPublic(server))
        default: throw ValidationError("--key and --server-key go together: this worker's key pair and the coordinator's public key")
        }
    }

    /// Connects anew each time it is called (a worker reconnects with a fresh socket).
    func connector(_ endpoint: String) throws -> @Sendable () throws -> any FleetClientTransport {
        let security = try security()
        let insecure = insecure
        _ = try ZeroMQClientTransport(endpoint: endpoint, curve: security, insecure: insecure)   // a bad endpoint or missing key fails now
        return { try ZeroMQClientTransport(endpoint: endpoint, curve: security, insecure: insecure) }
    }
}

/// Prints what a worker's connection goes through, one line each.
func describe(_ event: WorkerEvent) -> String {
    switch event {
    case .welcomed(let w): return "connected: experiment \(w.experiment), θ \(w.thetaDim), x \(w.xShape)"
    case .reconnecting(let reason, let delay): return String(format: "reconnecting in %.1f s: %@", delay, reason)
    case .refused(let e): return "the coordinator refused a message (\(e.code.rawValue)): \(e.message)"
    case .batchFailed(let batch, let reason): return "batch \(batch) failed: \(reason)"
    case .jobStarted(let job, let round, let experiment): return "training job \(job) (\(experiment) round \(round))"
    case .jobFinished(let job, let version, let reason):
        if let version { return "job \(job) done: model version \(version)" }
        return "job \(job) not finished: \(reason ?? "no reason")"
    case .shutdown(let reason): return "the coordinator ended the experiment: \(reason)"
    }
}
