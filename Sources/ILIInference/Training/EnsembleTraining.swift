import Foundation
import ILITensor

/// The part of training an ensemble that every method shares: one seeded split for all
/// members, a seed per member, members in parallel threads when the settings allow, a
/// progress note per member, and weights from the members' best validation scores.
///
/// The split and the members' seeds come from the seed alone, so NPE, NLE and NRE on the
/// same data and seed hold out the same simulations.
struct EnsembleTraining {
    /// One network ready to train: its parameters, its label in progress lines, and the
    /// mean per-row score (higher is better) of a batch of row indices.
    struct Member<Model> {
        var model: Model
        var parameters: [Parameter<Float>]
        var label: String
        var score: (Tape<Float>, [Int]) -> Variable<Float>
    }

    let training: [Int]
    let validation: [Int]
    private let memberSeeds: [UInt64]
    let settings: TrainingSettings

    init(rows: Int, members: Int, settings: TrainingSettings, seed: UInt64) {
        var rng = RandomSource(seed: seed)
        (training, validation) = SimulationDataset.split(count: rows, validationFraction: settings.validationFraction, rng: &rng)
        memberSeeds = (0..<members).map { _ in rng.next() }
        self.settings = settings
    }

    /// Builds member k with `make` (from its own random source, after the split) and trains
    /// it; returns the models, their summaries and their softmax weights. `scoreNote` says
    /// what a best validation score means, for the closing note of each member.
    func train<Model>(progress: TrainingProgress, scoreNote: @escaping @Sendable (Double) -> String,
                      make: @escaping @Sendable (Int, inout RandomSource) throws -> Member<Model>)
        throws -> (models: [Model], summaries: [TrainingSummary], weights: [Double]) {
        let (training, validation, settings, memberSeeds) = (training, validation, settings, memberSeeds)
        @Sendable func trainMember(_ k: Int) throws -> (Model, TrainingSummary) {
            var rng = RandomSource(seed: memberSeeds[k])
            let member = try make(k, &rng)
            let summary = Trainer(settings: settings).train(
                parameters: member.parameters, training: training, validation: validation, rng: &rng,
                score: member.score, progress: { progress.report(member.label, $0) })
            progress.note("[\(member.label)] done: \(summary.epochs) epochs, best validation \(scoreNote(summary.bestValidationScore)) at epoch \(summary.bestEpoch), \(String(format: "%.1f", summary.seconds)) s")
            return (member.model, summary)
        }
        // At most `RowParallelism.width` members train at once and share those threads; one
        // member alone splits its rows over all of them.
        let sideBySide = settings.parallelMembers ? min(memberSeeds.count, RowParallelism.width) : 1
        let threadsPerMember = max(1, RowParallelism.width / sideBySide)
        let trained = try runJobs(memberSeeds.count, threads: sideBySide) { k -> (Model, TrainingSummary) in
            try RowParallelism.withWidth(threadsPerMember) { try trainMember(k) }
        }
        let summaries = trained.map(\.1)
        return (trained.map(\.0), summaries, DensityEnsemble.weights(fromValidationScores: summaries.map(\.bestValidationScore)))
    }
}
