import Foundation
import ILITensor
import XCTest

/// Small posteriors trained once per test run by the real `ili train`, for tests that need
/// one to exist more than they need it to be good: x ≈ θ + noise 0.1, θ in [-1, 1]².
///
/// Each is trained on first use into a directory of its own under the temporary folder
/// and shared by every later test in the process; tests must not write into it.
enum SmallPosteriors {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var trained: [String: String] = [:]

    /// The posterior directory of a small NPE (MDN) or NLE (MAF) posterior, training it on
    /// first use. `method` is `npe` or `nle`.
    static func directory(_ method: String) throws -> String {
        lock.lock()
        defer { lock.unlock() }
        if let done = trained[method] { return done }
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("ili-small-\(method)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        var rng = RandomSource(seed: 11)
        let n = 600
        let theta = Matrix<Double>(rows: n, cols: 2) { _, _ in rng.uniform(in: -1.0, 1.0) }
        let x = Matrix<Double>(rows: n, cols: 2) { i, j in theta[i, j] + 0.1 * rng.normal() }
        try NPYFile.write(theta, to: root.appendingPathComponent("theta.npy").path)
        try NPYFile.write(x, to: root.appendingPathComponent("x.npy").path)
        let estimator = method == "npe" ? "{model: mdn, hidden_features: 16, num_components: 2}"
                                        : "{model: maf, hidden_features: 16, num_transforms: 2}"
        let config = """
            prior:
              uniform: {low: [-1, -1], high: [1, 1]}
            data: {theta: theta.npy, x: x.npy}
            inference:
              method: \(method)
              estimators:
                - \(estimator)
              \(method == "npe" ? "" : "sampler: {method: slice, chains: 4, warmup: 20}")
            train: {batch_size: 50, max_epochs: 80}
            seed: 3
            out: posterior
            """
        let configPath = root.appendingPathComponent("run.yaml").path
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        let result = try BinaryRunner.run(["train", configPath, "--quiet"])
        guard result.status == 0 else {
            throw NSError(domain: "SmallPosteriors", code: Int(result.status),
                          userInfo: [NSLocalizedDescriptionKey: "ili train failed: \(result.stdout)\(result.stderr)"])
        }
        let directory = root.appendingPathComponent("posterior").path
        trained[method] = directory
        return directory
    }
}
