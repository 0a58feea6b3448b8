import ArgumentParser
import Foundation
import ILIRegistry

/// `ili registry latest --experiment NAME [--calibrated]`
struct RegistryLatest: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "latest",
        abstract: "Show an experiment's newest posterior, or its newest calibrated one.",
        discussion: """
            With --calibrated, only posteriors that a stored passing validation verdict marked \
            calibrated count: this is the posterior to sample from. Exits 1 when there is none.
            """
    )

    @OptionGroup var options: RegistryOptions
    @Option(name: .long, help: "The experiment's name.") var experiment: String
    @Flag(name: .long, help: "Only a calibrated posterior.") var calibrated = false

    func run() throws {
        let registry = try options.open(createIfMissing: false)
        defer { registry.close() }
        guard let posterior = try registry.latestPosterior(experiment: experiment, calibratedOnly: calibrated) else {
            throw RegistryError(.unknownPosterior, """
                experiment \(experiment) has no \(calibrated ? "calibrated " : "")posterior yet\
                \(calibrated ? ": validate one and record a passing verdict" : "")
                """)
        }
        try printPosterior(posterior, registry, json: options.json)
    }
}
