import Foundation
import ILIInference
import ILIRegistry
@testable import ILIRounds
import XCTest

/// A fresh directory per test, removed afterwards.
class RoundsTestCase: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("ili-rounds-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// Parses `yaml` as if it were `name` in the test's directory.
    func configuration(_ yaml: String, name: String = "experiment.yaml") throws -> ExperimentConfiguration {
        try yaml.write(toFile: path(name), atomically: true, encoding: .utf8)
        return try ExperimentConfiguration.load(path: path(name))
    }

    /// The small settings every experiment test shares: tiny networks, few epochs.
    static let quickTraining = """
        train: {max_epochs: 4, batch_size: 100}
        validation: {simulations: 30, samples: 100}
        seed: 3
        """
}

/// Records what a run reports and can ask it to stop at a chosen event.
final class RecordingObserver: RunObserver, @unchecked Sendable {
    private let lock = NSLock()
    private(set) var progress: [(round: Int, purpose: SimulationPurpose, valid: Int)] = []
    private(set) var epochs = 0
    private(set) var verdicts: [CalibrationVerdictSummary] = []
    var stopAfterSimulationCalls: Int?
    var stopAfterEpochs: Int?
    let stop: StopSignal

    struct CalibrationVerdictSummary { var round: Int; var passed: Bool }

    init(stop: StopSignal) { self.stop = stop }

    func simulationProgress(round: Int, purpose: SimulationPurpose, valid: Int, failed: Int, target: Int, perSecond: Double) {
        lock.withLock {
            progress.append((round, purpose, valid))
            if let n = stopAfterSimulationCalls, progress.count >= n { stop.request("test stop during simulation") }
        }
    }

    func epochFinished(member: Int, label: String, _ report: EpochReport) throws {
        lock.withLock {
            epochs += 1
            if let n = stopAfterEpochs, epochs >= n { stop.request("test stop during training") }
        }
    }
}

/// A simulator in pure Python (no NumPy): reads θ as .npy on stdin, writes x = (θ₀ + θ₁,
/// θ₀ − θ₁) + noise as .npy on stdout, and exits with status 3 when any θ₀ of its batch is
/// above `crashAbove`. With `jitter`, each batch first sleeps up to 30 ms at random (not
/// seeded), so that a pool of several finishes its batches in a different order every run.
func writePythonSimulator(to path: String, crashAbove: Double = 10, jitter: Bool = false) throws {
    let script = """
        import struct, sys, random, ast
        data = sys.stdin.buffer.read()
        assert data[:6] == b'\\x93NUMPY', 'not an npy'
        major = data[6]
        (hlen, start) = (struct.unpack('<H', data[8:10])[0], 10) if major == 1 else (struct.unpack('<I', data[8:12])[0], 12)
        header = ast.literal_eval(data[start:start + hlen].decode('latin1'))
        rows, cols = header['shape']
        values = struct.unpack('<%dd' % (rows * cols), data[start + hlen:])
        theta = [values[i * cols:(i + 1) * cols] for i in range(rows)]
        if \(jitter ? "True" : "False"):
            __import__('time').sleep(random.SystemRandom().random() * 0.03)
        if any(t[0] > \(crashAbove) for t in theta):
            sys.stderr.write('theta0 too large\\n')
            sys.exit(3)
        rng = random.Random(int(__import__('os').environ.get('ILI_SEED', '0')))
        x = [[t[0] + t[1] + 0.05 * rng.gauss(0, 1), t[0] - t[1] + 0.05 * rng.gauss(0, 1)] for t in theta]
        head = "{'descr': '<f8', 'fortran_order': False, 'shape': (%d, 2), }" % rows
        head = head + ' ' * (63 - (10 + len(head)) % 64) + '\\n'
        out = b'\\x93NUMPY\\x01\\x00' + struct.pack('<H', len(head)) + head.encode('latin1')
        out += struct.pack('<%dd' % (2 * rows), *[v for row in x for v in row])
        sys.stdout.buffer.write(out)
        """
    try script.write(toFile: path, atomically: true, encoding: .utf8)
}
