import ArgumentParser
import Foundation
import ILIRegistry

/// `ili registry init`: creates or upgrades the schema and reports its version.
struct RegistryInit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create the registry's tables, or upgrade them, and print the schema version.",
        discussion: """
            Safe to run any number of times, also while other processes use the registry: \
            migrations already applied are skipped, and concurrent runs take turns. For SQLite \
            the file is created if missing, with any missing folders above it. The other \
            registry commands only read, and refuse a SQLite path that does not exist.
            """
    )

    @OptionGroup var options: RegistryOptions

    func run() throws {
        let registry = try options.open(createIfMissing: true)
        defer { registry.close() }
        if options.json {
            try RegistryOutput.print(json: ["registry": registry.url.redacted, "schemaVersion": registry.schemaVersion])
        } else {
            print("registry \(registry.url.redacted) is ready (schema version \(registry.schemaVersion))")
        }
    }
}
