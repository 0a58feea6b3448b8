import Foundation
import ILINets

/// A posterior as files: `posterior.json` (`PosteriorManifest`), `training.json`
/// (`TrainingRecord`) and `members/<i>.safetensors` (each member's saved form, `ModelFiles`).
/// `ili train` and `ili run` write it from trained members, `ili registry export` from the
/// registry, and `ili sample`, `ili validate` and the registry's samplers read it; the
/// format is specified in schemas/posterior-directory.md.
///
/// ```swift
/// let archive = try PosteriorArchive(trained: result.members, weights: result.ensemble.weights, method: .npe,
///                                    prior: spec, experiment: "two-moons")
/// try archive.write(to: "runs/two-moons")
/// let posterior = try loadPosterior(from: "runs/two-moons")
/// ```
public struct PosteriorArchive {
    public var manifest: PosteriorManifest
    public var training: TrainingRecord
    /// Each member's weights file, in member order.
    public var memberFiles: [[UInt8]]

    public static let membersDirectory = "members"
    public static func memberFile(_ index: Int) -> String { "\(membersDirectory)/\(index).safetensors" }

    public init(manifest: PosteriorManifest, training: TrainingRecord, memberFiles: [[UInt8]]) {
        self.manifest = manifest
        self.training = training
        self.memberFiles = memberFiles
    }

    /// The archive of freshly trained members of one ensemble, not (yet) registered.
    public init(trained members: [TrainedMember], weights: [Double], method: InferenceMethod, prior: PriorSpecification,
                experiment: String, configuration: String? = nil, sampler: SamplerSettings? = nil,
                ratio: RatioEstimationSettings? = nil, round: Int = 0, strategy: String = "amortized",
                validSimulations: Int, invalidSimulations: Int) throws {
        precondition(!members.isEmpty && members.count == weights.count, "one weight per member")
        let files = try members.map { try $0.model.encoded() }
        let first = members[0].model.estimator
        let (thetaDimension, xDimension): (Int, Int)
        switch first {
        case .density(let c): (thetaDimension, xDimension) = method == .nle ? (c.contextCount, c.featureCount) : (c.featureCount, c.contextCount)
        case .classifier(let c): (thetaDimension, xDimension) = (c.parameterCount, c.dataCount)
        }
        let now = Date().iso8601
        manifest = PosteriorManifest(
            experiment: experiment, round: round, method: method, prior: prior, thetaDimension: thetaDimension,
            xShape: [xDimension],
            members: members.enumerated().map { k, member in
                PosteriorManifest.Member(index: k, modelVersion: nil, weight: weights[k], estimator: member.model.estimator,
                                         weights: Self.memberFile(k), sha256: SHA256.hex(files[k]))
            },
            sampler: method.usesMCMC ? (sampler ?? SamplerSettings()) : nil, ratio: method == .nre ? ratio : nil)
        training = TrainingRecord(
            experiment: experiment, experimentConfig: configuration,
            rounds: [.init(round: round, strategy: strategy, status: "done", validSimulations: validSimulations,
                           invalidSimulations: invalidSimulations)],
            members: members.enumerated().map { k, member in
                TrainingRecord.Member(index: k, modelVersion: nil, round: round, ensembleMember: member.job.member, job: member.job,
                                      summary: member.summary, createdAt: now)
            })
        memberFiles = files
    }

    // MARK: Writing

    /// Checks, before any work is done, that `directory` can receive a posterior: it is new,
    /// empty, or (with `replacing`) holds a posterior to replace; and its parent is writable.
    public static func checkDestination(_ directory: String, replacing: Bool) throws {
        let fm = FileManager.default
        let url = URL(fileURLWithPath: directory)
        var isDirectory: ObjCBool = false
        if fm.fileExists(atPath: directory, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw PosteriorError(.badDirectory, "\(directory) is a file; the posterior needs a directory there")
            }
            let contents = (try? fm.contentsOfDirectory(atPath: directory)) ?? []
            if !contents.isEmpty {
                guard contents.contains(PosteriorManifest.fileName) else {
                    throw PosteriorError(.badDirectory, "\(directory) is not empty and holds no posterior (\(contents.prefix(3).joined(separator: ", "))\(contents.count > 3 ? ", …" : "")): choose a new or empty directory for the posterior")
                }
                guard replacing else {
                    throw PosteriorError(.badDirectory, "\(directory) already holds a posterior: pass --overwrite to replace it (its validation results and plots are removed with it), or choose another directory")
                }
            }
        }
        // The files are staged beside the directory and moved in, so the parent must be writable.
        let parent = url.deletingLastPathComponent()
        do {
            try fm.createDirectory(at: parent, withIntermediateDirectories: true)
        } catch {
            throw PosteriorError(.badDirectory, "cannot create \(parent.path) for the posterior: \(error.localizedDescription)")
        }
        let probe = parent.appendingPathComponent(".ili-write-check-\(UUID().uuidString)")
        guard fm.createFile(atPath: probe.path, contents: Data()) else {
            throw PosteriorError(.badDirectory, "cannot write in \(parent.path): check its permissions, or choose another directory for the posterior")
        }
        try? fm.removeItem(at: probe)
    }

    /// Writes the archive into `directory`. The files are written to a sibling and moved into
    /// place last, so a reader sees the whole posterior or none. With `replacing`, a
    /// directory holding an earlier posterior (and its validation files and plots) is
    /// replaced; otherwise the directory must be new or empty.
    public func write(to directory: String, replacing: Bool = false) throws {
        try Self.checkDestination(directory, replacing: replacing)
        let fm = FileManager.default
        let url = URL(fileURLWithPath: directory).standardizedFileURL
        let staging = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).partial-\(UUID().uuidString)")
        do {
            try fm.createDirectory(at: staging.appendingPathComponent(Self.membersDirectory), withIntermediateDirectories: true)
            for (k, bytes) in memberFiles.enumerated() {
                try Data(bytes).write(to: staging.appendingPathComponent(Self.memberFile(k)))
            }
            try ArchiveJSON.encode(training).write(to: staging.appendingPathComponent(TrainingRecord.fileName))
            try ArchiveJSON.encode(manifest).write(to: staging.appendingPathComponent(PosteriorManifest.fileName))
            if fm.fileExists(atPath: url.path) { try fm.removeItem(at: url) }
            try fm.moveItem(at: staging, to: url)
        } catch {
            try? fm.removeItem(at: staging)
            throw PosteriorError(.badDirectory, "writing the posterior to \(directory) failed: \(error.localizedDescription)")
        }
    }

    // MARK: Reading

    /// Reads the archive in `directory`, checking every member file against its SHA-256.
    public static func read(from directory: String) throws -> PosteriorArchive {
        let url = URL(fileURLWithPath: directory)
        let manifestPath = url.appendingPathComponent(PosteriorManifest.fileName).path
        guard let data = FileManager.default.contents(atPath: manifestPath) else {
            throw PosteriorError(.badDirectory, "\(directory) is not a posterior directory: no \(PosteriorManifest.fileName) (train one with `ili train` or `ili run`, or export one with `ili registry export`)")
        }
        let manifest: PosteriorManifest
        do {
            manifest = try ArchiveJSON.decode(PosteriorManifest.self, from: data)
        } catch {
            throw PosteriorError(.badDirectory, "\(manifestPath): not a valid posterior manifest: \(Self.describe(error))")
        }
        let files = try manifest.members.map { member -> [UInt8] in
            let path = url.appendingPathComponent(member.weights).path
            guard let bytes = FileManager.default.contents(atPath: path) else {
                throw PosteriorError(.badDirectory, "\(path): missing weights file of member \(member.index)")
            }
            guard SHA256.hex(bytes) == member.sha256 else {
                throw PosteriorError(.badDirectory, "\(path): SHA-256 does not match \(PosteriorManifest.fileName); the file is corrupt or was replaced")
            }
            return [UInt8](bytes)
        }
        let trainingPath = url.appendingPathComponent(TrainingRecord.fileName).path
        let training = FileManager.default.contents(atPath: trainingPath).flatMap { try? ArchiveJSON.decode(TrainingRecord.self, from: $0) }
            ?? TrainingRecord(experiment: manifest.experiment, experimentConfig: nil, rounds: [], members: [])
        return PosteriorArchive(manifest: manifest, training: training, memberFiles: files)
    }

    /// The posterior the archive describes: NPE's direct posterior, or NLE's and NRE's MCMC
    /// posterior with the manifest's sampler. `source` names the archive in errors.
    public func makePosterior(source: String = "the posterior") throws -> any Posterior {
        func fail(_ message: String) -> PosteriorError { PosteriorError(.badDirectory, "\(source): \(message)") }
        guard !manifest.members.isEmpty, manifest.members.count == memberFiles.count else { throw fail("no members") }
        let prior = try manifest.prior.makePrior(source: source)
        guard prior.dimension == manifest.thetaDimension else {
            throw fail("the prior has \(prior.dimension) parameters but thetaDimension is \(manifest.thetaDimension)")
        }
        let models = try zip(manifest.members, memberFiles).map { member, bytes -> TrainedModel in
            let memberSource = "\(source), member \(member.index)"
            do {
                let saved: (tensors: [String: Matrix<Float>], configuration: MemberEstimator) =
                    try ModelFiles.decode(bytes, as: MemberEstimator.self, source: memberSource)
                // The manifest's configuration is authoritative; the file's copy must agree.
                guard saved.configuration == member.estimator else {
                    throw fail("member \(member.index)'s weights were saved from a different estimator than the manifest lists")
                }
                return try TrainedModel(estimator: member.estimator, tensors: saved.tensors, source: memberSource)
            } catch let error as ModelFileError {
                throw PosteriorError(.badDirectory, error.message)
            }
        }
        let weights = manifest.members.map(\.weight)
        guard weights.allSatisfy({ $0 > 0 && $0.isFinite }) else { throw fail("member weights must be positive") }
        let sampler = manifest.sampler ?? SamplerSettings()
        do {
            try sampler.validate()
        } catch let error as SamplerError {
            throw fail("\"sampler\": \(error.message)")
        }
        switch manifest.method {
        case .npe, .nle:
            let densities = try models.map { model -> any ConditionalDensityEstimator<Float> in
                guard case .density(let density) = model else { throw fail("an \(manifest.method.displayName) member is a classifier") }
                return density
            }
            let ensemble = DensityEnsemble(members: densities, weights: weights)
            if manifest.method == .npe {
                guard ensemble.featureCount == prior.dimension else {
                    throw fail("the estimator models \(ensemble.featureCount) parameters but the prior has \(prior.dimension)")
                }
                return DirectPosterior(prior: prior, ensemble: ensemble)
            }
            guard ensemble.contextCount == prior.dimension else {
                throw fail("the likelihood is conditioned on \(ensemble.contextCount) values but the prior has \(prior.dimension) parameters")
            }
            return MCMCPosterior(prior: prior, model: .likelihood(ensemble), sampler: sampler)
        case .nre:
            let classifiers = try models.map { model -> RatioClassifier<Float> in
                guard case .classifier(let classifier) = model else { throw fail("an NRE member is not a classifier") }
                return classifier
            }
            let ensemble = RatioEnsemble(members: classifiers, weights: weights)
            guard ensemble.parameterCount == prior.dimension else {
                throw fail("the classifier takes \(ensemble.parameterCount) parameters but the prior has \(prior.dimension)")
            }
            return MCMCPosterior(prior: prior, model: .ratio(ensemble), sampler: sampler)
        }
    }

    /// A decoding error as one line: the key path and what is wrong there.
    static func describe(_ error: Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        func path(_ context: DecodingError.Context) -> String {
            let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
            return keys.isEmpty ? "" : keys.joined(separator: ".").replacingOccurrences(of: ".[", with: "[") + ": "
        }
        switch error {
        case .keyNotFound(let key, let context): return "\(path(context))missing \"\(key.stringValue)\""
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            return path(context) + context.debugDescription
        @unknown default: return "\(error)"
        }
    }
}

/// Loads the posterior saved in `directory` (by `ili train`, `ili run` or `ili registry export`).
public func loadPosterior(from directory: String) throws -> any Posterior {
    try PosteriorArchive.read(from: directory).makePosterior(source: directory)
}

extension PosteriorArchive {
    /// Writes a freshly trained NPE ensemble as a posterior directory (replacing one there).
    public static func write(npe result: DensityEnsembleResult, prior: PriorSpecification, experiment: String,
                             to directory: String) throws {
        try PosteriorArchive(trained: result.members, weights: result.ensemble.weights, method: .npe, prior: prior,
                             experiment: experiment, validSimulations: result.summaries.first.map { $0.trainingCount + $0.validationCount } ?? 0,
                             invalidSimulations: result.droppedRows).write(to: directory, replacing: true)
    }

    /// Writes a freshly trained NLE ensemble and the sampler `ili sample` uses by default.
    public static func write(nle result: DensityEnsembleResult, sampler: SamplerSettings, prior: PriorSpecification,
                             experiment: String, to directory: String) throws {
        try PosteriorArchive(trained: result.members, weights: result.ensemble.weights, method: .nle, prior: prior,
                             experiment: experiment, sampler: sampler,
                             validSimulations: result.summaries.first.map { $0.trainingCount + $0.validationCount } ?? 0,
                             invalidSimulations: result.droppedRows).write(to: directory, replacing: true)
    }

    /// Writes a freshly trained NRE ensemble, the loss that trained it, and the sampler.
    public static func write(nre result: NeuralRatioEstimation.Result, sampler: SamplerSettings, prior: PriorSpecification,
                             experiment: String, to directory: String) throws {
        try PosteriorArchive(trained: result.members, weights: result.ensemble.weights, method: .nre, prior: prior,
                             experiment: experiment, sampler: sampler, ratio: result.ratio,
                             validSimulations: result.summaries.first.map { $0.trainingCount + $0.validationCount } ?? 0,
                             invalidSimulations: result.droppedRows).write(to: directory, replacing: true)
    }
}
