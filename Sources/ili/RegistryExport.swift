import ArgumentParser
import Foundation
import ILIRegistry
import ILIRounds

/// `ili registry export POSTERIOR_ID DIR`
struct RegistryExport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a posterior as a directory that `ili sample` reads.",
        discussion: """
            DIR gets posterior.json (method, prior, ensemble members and weights), training.json \
            (rounds and training summaries) and members/<i>.safetensors, as specified in \
            schemas/posterior-directory.md. DIR must not exist or be empty; the files appear all \
            at once. POSTERIOR_ID is posterior-N or N.
            """
    )

    @OptionGroup var options: RegistryOptions
    @Argument(help: "The posterior, e.g. posterior-2.") var posterior: String
    @Argument(help: "The directory to create.") var directory: String

    /// The posterior's id from `posterior-N` or `N`.
    var posteriorId: PosteriorID? {
        RecordName(parsing: posterior).flatMap { $0.kind == .posterior ? $0.recordId() : nil } ?? Int64(posterior).map(PosteriorID.init(rawValue:))
    }

    func validate() throws {
        guard posteriorId != nil else {
            throw ValidationError("`\(posterior)` is not a posterior id: write posterior-N or N (see `ili registry posteriors`)")
        }
    }

    func run() throws {
        let id = posteriorId!
        let registry = try options.open(createIfMissing: false)
        defer { registry.close() }
        let dir = URL(fileURLWithPath: directory)
        let files = try RegistryArchives.export(registry, id: id, to: dir.path)
        if options.json { return try RegistryOutput.print(json: ["directory": dir.path, "files": files]) }
        print("exported posterior-\(id) to \(dir.path):")
        for file in files { print("  " + file) }
    }
}
