import Foundation
import ILIRounds

/// The experiment loop's simulations, done by the fleet: each `run` hands its tasks to the
/// coordinator and commits what workers send back, group by group, on the calling thread.
public final class FleetSimulationBackend: SimulationBackend {
    public let coordinator: FleetCoordinator
    /// Where workers connect, for progress lines.
    public let endpoints: [String]
    private var context: SimulationContext?

    public init(coordinator: FleetCoordinator, endpoints: [String]) {
        self.coordinator = coordinator
        self.endpoints = endpoints
    }

    public var description: String { "the fleet at \(endpoints.joined(separator: ", "))" }
    public var xCount: Int { coordinator.experiment.xCount }

    public func prepare(for context: SimulationContext) { self.context = context }

    public func run(_ tasks: [SimulationTask], commit: ([SimulationOutcome]) throws -> Void, shouldStop: () -> Bool) throws {
        let context = self.context
        coordinator.submit(SimulationRun(round: context?.round ?? 0, purpose: context?.purpose.rawValue ?? "train",
                                         acceptsUnsolicited: context?.acceptsUnsolicited ?? false, tasks: tasks))
        defer { coordinator.finishRun() }
        var stopping = false
        while true {
            let (outcomes, acks) = try coordinator.takeDeliveries(timeout: stopping ? 0 : 0.25)
            if !outcomes.isEmpty { try commit(outcomes) }
            coordinator.acknowledge(acks, committed: outcomes.count)
            if stopping || coordinator.runSettled { return }
            if shouldStop() {
                // What has arrived is committed on the next pass; nothing new is handed out.
                coordinator.stopDispatching()
                stopping = true
            }
        }
    }
}
