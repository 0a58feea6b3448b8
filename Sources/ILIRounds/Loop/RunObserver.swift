import Foundation
import ILIInference
import ILIRegistry
import ILIValidation

/// Receives what an experiment run does; `ili run` turns it into its progress display.
/// Every method has a default that does nothing. Training events (from `TrainingObserver`)
/// come from the members' threads; the rest from the thread that runs the experiment.
public protocol RunObserver: TrainingObserver {
    /// The experiment is open: created now, or `resumed` with the rounds it already has.
    func runStarted(experiment: String, registry: String, simulator: String, resumed: Bool, rounds: [Round])
    /// Round `round` is being worked on; it is the `position`-th round (from 0) of `count`.
    func roundStarted(_ round: Round, position: Int, count: Int, proposal: ProposalDescription)
    /// Simulations of `round` committed so far for `purpose`: valid of `target`, and failed.
    func simulationProgress(round: Int, purpose: SimulationPurpose, valid: Int, failed: Int, target: Int, perSecond: Double)
    /// The round moved to a new phase (`training`, `validating`, …).
    func phaseStarted(round: Int, phase: RoundStatus)
    /// The round's posterior was judged.
    func validated(round: Int, posterior: PosteriorID, verdict: CalibrationVerdict)
    /// The round is done; its posterior directory, validation and plots are in `directory`.
    func roundFinished(round: Int, posterior: PosteriorID, calibrated: Bool?, directory: String, seconds: Double)
    /// Anything else worth telling (a resumed phase, a skipped step).
    func note(_ message: String)
}

extension RunObserver {
    public func runStarted(experiment: String, registry: String, simulator: String, resumed: Bool, rounds: [Round]) {}
    public func roundStarted(_ round: Round, position: Int, count: Int, proposal: ProposalDescription) {}
    public func simulationProgress(round: Int, purpose: SimulationPurpose, valid: Int, failed: Int, target: Int, perSecond: Double) {}
    public func phaseStarted(round: Int, phase: RoundStatus) {}
    public func validated(round: Int, posterior: PosteriorID, verdict: CalibrationVerdict) {}
    public func roundFinished(round: Int, posterior: PosteriorID, calibrated: Bool?, directory: String, seconds: Double) {}
    public func note(_ message: String) {}
}

/// Set from a signal handler or another thread to make a run stop at its next safe
/// point, with everything it finished committed.
public final class StopSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var reason: String?

    public init() {}

    public func request(_ why: String) { lock.withLock { if reason == nil { reason = why } } }
    public var requested: Bool { lock.withLock { reason != nil } }
    public var why: String? { lock.withLock { reason } }
}
