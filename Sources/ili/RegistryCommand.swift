import ArgumentParser
import Foundation
import ILIRegistry

/// `ili registry …`: reads the registry of experiments, rounds, model versions and
/// posteriors, and exports a posterior for sampling.
struct RegistryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "registry",
        abstract: "Inspect the registry: experiments, rounds, model versions, posteriors; export a posterior.",
        discussion: """
            The registry is a PostgreSQL database (postgresql://USER@HOST:PORT/DB) shared by a \
            fleet, or a SQLite file (sqlite:PATH) for one machine. Every subcommand takes its \
            URL from --registry, or else from the ILI_REGISTRY environment variable. The schema \
            is created or upgraded automatically on first use; passwords in URLs are never printed.

            Records are named KIND-N in listings (experiment-1, round-4, model-7, posterior-2, \
            job-3, validation-5); `ili registry show` takes those names, or an experiment's name.

            Add --json to any subcommand for machine-readable output.
            """,
        subcommands: [
            RegistryInit.self, RegistryExperiments.self, RegistryRounds.self, RegistryModels.self,
            RegistryPosteriors.self, RegistryTrials.self, RegistryShow.self, RegistryLatest.self, RegistryExport.self, RegistryBench.self,
        ]
    )
}

/// The options every `ili registry` subcommand shares.
struct RegistryOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "The registry URL: postgresql://USER@HOST:PORT/DB or sqlite:PATH. Default: $ILI_REGISTRY.",
        valueName: "url"))
    var registry: String?

    @Flag(name: .long, help: "Print JSON instead of text.")
    var json = false

    /// A missing URL is a mistake in the command line: reported with the usage.
    func validate() throws { _ = try url() }

    /// The URL from --registry or ILI_REGISTRY.
    func url(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
        try Self.url(given: registry, environment: environment)
    }

    /// `given` (a --registry option) or else ILI_REGISTRY.
    static func url(given: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
        if let given, !given.isEmpty { return given }
        if let fromEnvironment = environment["ILI_REGISTRY"], !fromEnvironment.isEmpty { return fromEnvironment }
        throw ValidationError("no registry given: pass --registry URL or set ILI_REGISTRY (e.g. sqlite:runs/registry.db)")
    }

    /// Opens the registry. Commands that only read pass `createIfMissing: false`, so that a
    /// mistyped SQLite path is an error naming it instead of a new empty database; those
    /// that may create one also create the folders above it.
    func open(createIfMissing: Bool) throws -> Registry {
        try Registry(url: try url(), createIfMissing: createIfMissing, createFolders: createIfMissing)
    }
}

/// A record name as printed in listings: `posterior-3`, `model-7`, …
struct RecordName: Equatable {
    enum Kind: String, CaseIterable { case experiment, round, model, posterior, job, validation }
    var kind: Kind
    var id: Int64

    var text: String { "\(kind.rawValue)-\(id)" }

    init(_ kind: Kind, _ id: Int64) {
        self.kind = kind
        self.id = id
    }

    init<Record>(_ kind: Kind, _ id: RegistryID<Record>) {
        self.init(kind, id.rawValue)
    }

    /// The id as the registry's typed id; the caller has checked `kind` names that record.
    func recordId<Record>() -> RegistryID<Record> { RegistryID(rawValue: id) }

    /// Parses `KIND-N`; nil for anything else.
    init?(parsing text: String) {
        guard let dash = text.lastIndex(of: "-"), let kind = Kind(rawValue: String(text[..<dash])),
              let id = Int64(text[text.index(after: dash)...]), id > 0 else { return nil }
        self.init(kind, id)
    }
}
