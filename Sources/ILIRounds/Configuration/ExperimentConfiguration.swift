import Foundation
import ILIInference
import ILITensor
import Yams

/// An `ili run` configuration: an experiment that simulates, trains, validates and
/// registers, round after round. Every key is documented in schemas/config.md.
///
/// ```yaml
/// experiment: two-moons
/// simulator: two_moons
/// inference:
///   method: npe
///   estimators: [{model: maf}, {model: nsf}]
/// rounds: {strategy: sequential, count: 5, simulations_per_round: 1000}
/// observation: xo.npy
/// seed: 1
/// ```
public struct ExperimentConfiguration {
    public var name: String
    /// The registry URL (`sqlite:PATH` or `postgresql://…`).
    public var registry: String
    public var simulator: SimulatorSpecification
    public var prior: PriorSpecification
    public var inference: InferenceSpecification
    public var training: TrainingSettings
    public var rounds: RoundSettings
    /// The observation x_o that sequential and active rounds focus on (one row).
    public var observation: [Double]?
    public var observationPath: String?
    public var validation: RoundValidationSettings
    public var seed: UInt64
    /// Where each round's posterior directory, validation and plots go.
    public var outputDirectory: String
    /// The file it was read from, for messages.
    public var source: String
    /// The configuration as written.
    public var text: String

    static let topKeys: Set<String> = ["experiment", "registry", "simulator", "prior", "inference", "train", "rounds",
                                       "observation", "validation", "seed", "out"]

    public static func load(path: String) throws -> ExperimentConfiguration {
        let root = try ConfigNode.load(path: path)
        let base = URL(fileURLWithPath: path).deletingLastPathComponent()
        let stem = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        return try parse(root, baseDirectory: base, defaultName: stem)
    }

    public static func parse(_ root: ConfigNode, baseDirectory: URL, defaultName: String) throws -> ExperimentConfiguration {
        let top = try root.mapping(allowing: topKeys)
        var name = defaultName
        if let n = top.optional("experiment") {
            name = try n.string().trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty, !name.contains("/") else { throw n.error(.invalidValue, "an experiment needs a name without '/'") }
        }
        let simulator = try SimulatorSpecification.parse(try top.required("simulator"), baseDirectory: baseDirectory)
        let prior: PriorSpecification
        if let node = top.optional("prior") {
            prior = try PriorSpecification.parse(node)
            _ = try prior.makePrior(source: root.source)
        } else if let builtIn = simulator.builtIn {
            prior = builtIn.defaultPrior
        } else {
            throw root.error(.missingKey, "missing key 'prior': a simulator given by `exec` needs the prior its θ are drawn from")
        }
        let parameterCount = try prior.makePrior(source: root.source).dimension
        if let builtIn = simulator.builtIn, builtIn.simulator.thetaDimension != parameterCount {
            throw (top.optional("prior") ?? root).error(.invalidValue, "the prior has \(parameterCount) parameters but \(builtIn.name) takes θ of width \(builtIn.simulator.thetaDimension)")
        }
        let inference = try InferenceSpecification.parse(try top.required("inference"), parameterCount: parameterCount)
        let training = try TrainingSettings.parse(top.optional("train"))
        let rounds = try RoundSettings.parse(top.optional("rounds"), method: inference.method, memberCount: inference.memberCount)
        if inference.posteriorLoss.isBalanced && rounds.strategy != .amortized && rounds.posteriorLoss == .atomic {
            throw try inference.node.mapping().required("loss").error(.invalidValue, """
                the balanced loss compares q(θ | x) with the prior, so its θs must come from the prior (or the prior \
                truncated: rounds.proposal: truncated); \(rounds.strategy == .active ? "active rounds draw" : "rounds.proposal: atomic draws") \
                θ from the posterior and trains with the atomic loss
                """)
        }
        if inference.method == .nre && training.batchSize < 2 {
            throw (top.optional("train") ?? root).error(.invalidValue, "NRE contrasts each row with other rows of its batch; train.batch_size must be at least 2")
        }

        var observation: [Double]?
        var observationPath: String?
        if let node = top.optional("observation") {
            let path = try node.path(relativeTo: baseDirectory, mustExist: true)
            let file: NPYFile
            do {
                file = try NPYFile.read(path)
            } catch {
                throw node.error(.invalidValue, "\(error)")
            }
            guard file.isOneDimensional || file.shape.first == 1 else {
                throw node.error(.invalidValue, "\(path) holds \(file.shape.first ?? 0) observations; sequential rounds focus on one (a 1-D array, or one row)")
            }
            let values = file.matrix(as: Double.self).storage
            if let bad = values.firstIndex(where: { !$0.isFinite }) {
                throw node.error(.invalidValue, "\(path): the observation holds \(values[bad]) at index \(bad)")
            }
            observation = values
            observationPath = path
        } else if rounds.strategy != .amortized {
            throw (top.optional("rounds") ?? root).error(.missingKey, "\(rounds.strategy.rawValue) rounds focus on one observation: add `observation: xo.npy`")
        }

        let out = try top.optional("out").map { try $0.path(relativeTo: baseDirectory, mustExist: false) }
            ?? baseDirectory.appendingPathComponent("runs").appendingPathComponent(name).standardizedFileURL.path
        let registry = try top.optional("registry").map { node -> String in
            let text = try node.string().trimmingCharacters(in: .whitespaces)
            // A relative SQLite path is relative to the configuration, like every other path.
            if text.hasPrefix("sqlite:") {
                var path = String(text.dropFirst("sqlite:".count))
                if path.hasPrefix("//") { path = String(path.dropFirst(2)) }
                guard !path.isEmpty else { throw node.error(.invalidValue, "`\(text)` names no file: write sqlite:PATH") }
                return "sqlite:" + (path.hasPrefix("/") ? path : baseDirectory.appendingPathComponent(path).standardizedFileURL.path)
            }
            return text
        } ?? "sqlite:" + URL(fileURLWithPath: out).appendingPathComponent("registry.db").path

        return ExperimentConfiguration(
            name: name, registry: registry, simulator: simulator, prior: prior, inference: inference, training: training,
            rounds: rounds, observation: observation, observationPath: observationPath,
            validation: try RoundValidationSettings.parse(top.optional("validation")), seed: try top.seed(),
            outputDirectory: out, source: root.source, text: root.text)
    }

    // MARK: Identity

    /// What makes two configurations the same experiment: everything that decides which θ
    /// are simulated and how the posteriors are trained and judged. `rounds.count` may grow
    /// (more rounds of the same experiment), and where files go may change.
    public var identity: [String: String] {
        func yaml(_ node: ConfigNode) -> String { ((try? Yams.serialize(node: node.node)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines) }
        return [
            "simulator": simulator.identity,
            "prior": (try? ArchiveJSON.text(prior)) ?? "",
            "inference": yaml(inference.node),
            "train": (try? ArchiveJSON.text(training)) ?? "",
            "rounds": "\(rounds.strategy.rawValue), \(rounds.simulationsPerRound) per round, \(rounds.posteriorLoss.rawValue), atoms \(rounds.atoms), quantile \(rounds.truncationQuantile), candidates \(rounds.candidatesPerSimulation)",
            "observation": observation.map { $0.map { String($0) }.joined(separator: ", ") } ?? "none",
            "validation": "\(validation.simulations) simulations × \(validation.samples) samples",
            "seed": String(seed),
        ]
    }

    /// The JSON stored as the experiment's configuration in the registry.
    func registryConfig() throws -> String {
        try ArchiveJSON.text(StoredConfiguration(identity: identity, configuration: text, source: source))
    }

    struct StoredConfiguration: Codable {
        var identity: [String: String]
        var configuration: String
        var source: String
    }
}
