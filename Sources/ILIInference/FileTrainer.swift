import Foundation
import ILINets

/// Carries out an `ili train` configuration: loads the simulations, checks them and the
/// destination, trains the method's ensemble and writes the posterior directory.
public enum FileTrainer {
    /// What training produced.
    public struct Outcome {
        public var archive: PosteriorArchive
        public var members: [TrainedMember]
        public var weights: [Double]
        public var simulations: Int
        public var droppedRows: Int
        public var directory: String
        /// With `inference.search`: every trial and what became of it (also in `search.json`).
        public var search: [HyperparameterSearch.TrialRecord]?
    }

    /// The file in the posterior directory that lists a search's trials.
    public static let searchFileName = "search.json"

    /// The data, checked against the prior and the destination, with the warnings worth
    /// printing before training starts. Throws before any work when the run cannot succeed.
    public static func prepare(_ run: TrainConfiguration, replacing: Bool) throws -> (data: SimulationDataset, warnings: [String]) {
        let data = try SimulationDataset.load(theta: run.thetaPath, x: run.xPath)
        let prior = try run.prior.makePrior(source: run.source)
        guard data.theta.cols == prior.dimension else {
            throw ConfigError(.invalidValue, source: run.source, keyPath: "data.theta",
                              "\(run.thetaPath) has \(data.theta.cols) columns but the prior has \(prior.dimension) parameters")
        }
        let check = TrainingDataCheck(data, prior: prior)
        try check.refuseIfMostlyOutside(thetaPath: run.thetaPath)
        // Building the estimators checks every key that depends on x's width.
        if run.inference.search != nil {
            _ = try run.inference.searchTrials(thetaDimension: data.theta.cols, xDimension: data.x.cols,
                                               seed: HyperparameterSearch.trialSeed(runSeed: run.seed), training: run.training)
        } else {
            _ = try run.inference.memberEstimators(thetaDimension: data.theta.cols, xDimension: data.x.cols)
        }
        try PosteriorArchive.checkDestination(run.outputDirectory, replacing: replacing)
        return (data, check.warnings(thetaPath: run.thetaPath))
    }

    /// Trains on `data` (from `prepare`) and writes the posterior directory.
    public static func train(_ run: TrainConfiguration, data: SimulationDataset, replacing: Bool,
                             observer: (any TrainingObserver)? = nil) throws -> Outcome {
        let inference = run.inference
        let posteriorLoss = inference.posteriorLoss.posteriorLoss(prior: run.prior)
        let trained: (members: [TrainedMember], weights: [Double])
        var searchRecords: [HyperparameterSearch.TrialRecord]?
        if let space = inference.search {
            let trials = try inference.searchTrials(thetaDimension: data.theta.cols, xDimension: data.x.cols,
                                                    seed: HyperparameterSearch.trialSeed(runSeed: run.seed), training: run.training)
            let result = try HyperparameterSearch.run(trials.map(\.trial), space: space, estimators: trials.map(\.estimator),
                                                      method: inference.method, ratio: inference.ratio, posteriorLoss: posteriorLoss,
                                                      seed: run.seed, data: data, observer: observer)
            trained = (result.members, result.weights)
            searchRecords = result.records
        } else {
            let estimators = try inference.memberEstimators(thetaDimension: data.theta.cols, xDimension: data.x.cols)
            let jobs = EnsembleTraining.jobs(method: inference.method, estimators: estimators, ratio: inference.ratio,
                                             posteriorLoss: posteriorLoss, training: run.training, seed: run.seed)
            trained = try EnsembleTraining.train(jobs, data: data, observer: observer)
        }
        let experiment = URL(fileURLWithPath: run.outputDirectory).lastPathComponent
        let archive = try PosteriorArchive(
            trained: trained.members, weights: trained.weights, method: inference.method, prior: run.prior,
            experiment: experiment, configuration: run.text, sampler: inference.sampler, ratio: inference.ratio,
            validSimulations: data.count, invalidSimulations: data.droppedRows)
        try archive.write(to: run.outputDirectory, replacing: replacing)
        if let searchRecords { try HyperparameterSearch.write(searchRecords, toDirectory: run.outputDirectory) }
        return Outcome(archive: archive, members: trained.members, weights: trained.weights, simulations: data.count,
                       droppedRows: data.droppedRows, directory: run.outputDirectory, search: searchRecords)
    }
}
