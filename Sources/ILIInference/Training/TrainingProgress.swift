import Foundation

/// One progress line per epoch on standard error, or nothing in quiet mode.
///
/// ```
/// [maf #0] epoch  12  train  -1.234  val  -1.301  best  -1.290  (2 since)  3.4s
/// ```
public struct TrainingProgress: Sendable {
    public var quiet: Bool

    public init(quiet: Bool) { self.quiet = quiet }

    /// Quiet unless standard error is a terminal, for scripts and logs.
    public static var automatic: TrainingProgress {
        TrainingProgress(quiet: isatty(STDERR_FILENO) == 0)
    }

    public func report(_ label: String, _ r: EpochReport) {
        guard !quiet else { return }
        let line = String(format: "[%@] epoch %4d  train %9.4f  val %9.4f  best %9.4f  (%d since)  %.1fs\n",
                          label, r.epoch, r.trainingScore, r.validationScore, r.bestValidationScore,
                          r.epochsSinceBest, r.elapsedSeconds)
        FileHandle.standardError.write(Data(line.utf8))
    }

    public func note(_ message: String) {
        guard !quiet else { return }
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }
}
