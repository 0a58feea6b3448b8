import Foundation

/// One line of progress on standard error, rewritten in place; silent unless standard
/// error is a terminal (and the user did not ask for quiet), so that logs and pipes get
/// only the results.
final class ProgressLine {
    let enabled: Bool
    private var written = false

    init(quiet: Bool) {
        enabled = !quiet && isatty(STDERR_FILENO) != 0
    }

    func update(_ text: String) {
        guard enabled else { return }
        written = true
        FileHandle.standardError.write(Data(("\r" + text + "\u{1B}[K").utf8))
    }

    /// Ends the line, if one was written, so that what follows starts on its own line.
    func finish() {
        guard written else { return }
        written = false
        FileHandle.standardError.write(Data("\n".utf8))
    }
}
