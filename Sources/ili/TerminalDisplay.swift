import Foundation
import ILIInference

/// What long commands show on standard error while they work. On a terminal: notes scroll
/// above a block of live lines (one per training member, one per status) that are redrawn
/// in place. Elsewhere (a log, a pipe): plain lines, one per event. Quiet: nothing.
final class TerminalDisplay: @unchecked Sendable {
    let quiet: Bool
    let live: Bool
    // The lock guards the live block and the redraw clock.
    private let lock = NSLock()
    private var lines: [String: String] = [:]
    private var order: [String] = []
    private var drawn = 0
    private var lastDraw = Date.distantPast

    init(quiet: Bool, live: Bool = isatty(STDERR_FILENO) != 0) {
        self.quiet = quiet
        self.live = live && !quiet
    }

    /// A line that stays: printed above the live block.
    func note(_ message: String) {
        guard !quiet else { return }
        lock.withLock {
            erase()
            write(message + "\n")
            draw()
        }
    }

    /// Sets the live line `key` (shown in the order keys first appear); without a terminal
    /// the line is printed as is when `plain` is true.
    func update(_ key: String, _ line: String, plain: Bool = true) {
        guard !quiet else { return }
        lock.withLock {
            if !live {
                if plain { write(line + "\n") }
                return
            }
            if lines[key] == nil { order.append(key) }
            lines[key] = line
            // Redrawing more than ten times a second only costs the terminal.
            if Date().timeIntervalSince(lastDraw) >= 0.1 {
                erase()
                draw()
            }
        }
    }

    /// Removes the live line `key`.
    func remove(_ key: String) {
        lock.withLock {
            guard lines[key] != nil else { return }
            erase()
            lines[key] = nil
            order.removeAll { $0 == key }
            draw()
        }
    }

    /// Clears the live block (before a command prints its result).
    func finish() {
        lock.withLock {
            erase()
            lines = [:]
            order = []
        }
    }

    // Caller holds `lock`.
    private func erase() {
        guard live, drawn > 0 else { return }
        write(String(repeating: "\u{1B}[1A\u{1B}[2K", count: drawn))
        drawn = 0
    }

    private func draw() {
        guard live else { return }
        let width = max(20, Self.terminalWidth() - 1)
        for key in order {
            write(String(lines[key]!.prefix(width)) + "\n")
        }
        drawn = order.count
        lastDraw = Date()
    }

    private func write(_ text: String) { FileHandle.standardError.write(Data(text.utf8)) }

    static func terminalWidth() -> Int {
        var size = winsize()
        return ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), &size) == 0 && size.ws_col > 0 ? Int(size.ws_col) : 100
    }
}

/// Training progress for `ili train` and `ili run`: one live line per member on a terminal,
/// a line per epoch otherwise, and a closing line per member.
final class TrainingDisplay: TrainingObserver, @unchecked Sendable {
    let display: TerminalDisplay
    /// What the members' validation score is: `log-prob` (NPE, NLE) or `loss` (NRE, negated).
    let scoreName: String
    let sign: Double

    init(display: TerminalDisplay, method: InferenceMethod) {
        self.display = display
        (scoreName, sign) = method == .nre ? ("loss", -1) : ("log-prob", 1)
    }

    func trainingStarted(members: [String], trainingCount: Int, validationCount: Int, droppedRows: Int) {
        display.note("training \(members.count) member(s) on \(trainingCount) simulations, validating on \(validationCount)"
                     + (droppedRows > 0 ? " (\(droppedRows) rows with NaN or infinite values dropped)" : ""))
    }

    func epochFinished(member: Int, label: String, _ r: EpochReport) throws {
        display.update("member-\(member)", String(
            format: "[%@] epoch %4d  train %9.4f  val %9.4f  best %9.4f  (%d since)  %.1fs",
            label, r.epoch, sign * r.trainingScore, sign * r.validationScore, sign * r.bestValidationScore, r.epochsSinceBest,
            r.elapsedSeconds))
    }

    func memberFinished(member: Int, label: String, _ s: TrainingSummary) {
        display.remove("member-\(member)")
        let stop = s.stoppedBecause == "max-epochs"
            ? "stopped at max_epochs (still improving: raise train.max_epochs)" : "converged"
        display.note(String(format: "[%@] done: %d epochs, best validation %@ %.4f at epoch %d, %.1f s, %@",
                            label, s.epochs, scoreName, sign * s.bestValidationScore, s.bestEpoch, s.seconds, stop))
    }
}
