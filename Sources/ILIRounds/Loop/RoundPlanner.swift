import ILIRegistry

/// What an experiment should do next, decided from its rounds alone: the registry's
/// record is the whole state, so a restarted run picks up exactly where the last one
/// stopped. Pure: no I/O.
enum RoundPlanner {
    enum Step: Equatable {
        /// Every wanted round is done.
        case finished
        /// Open round `index`, the `position`-th round of the experiment that must succeed
        /// (0 draws from the prior; later ones from the latest done round's posterior).
        case open(index: Int, position: Int)
        /// Carry `round` on from its status; it is the `position`-th wanted round.
        case resume(Round, position: Int)
    }

    /// `rounds` in index order; `wanted` is the configuration's `rounds.count`. Failed
    /// rounds do not count: the next round takes the failed one's place.
    static func next(rounds: [Round], wanted: Int) -> Step {
        let done = rounds.filter { $0.status == .done }.count
        if let last = rounds.last, !last.status.isFinished { return .resume(last, position: done) }
        if done >= wanted { return .finished }
        return .open(index: (rounds.last?.index ?? -1) + 1, position: done)
    }
}
