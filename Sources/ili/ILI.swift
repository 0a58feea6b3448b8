import ArgumentParser

@main
struct ILI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ili",
        abstract: "Simulation-based inference: learn a posterior from a simulator's (θ, x) pairs.",
        discussion: """
            ili trains neural posterior, likelihood and ratio estimators on simulations, \
            validates their calibration, and keeps track of experiments in a registry.

            Start with `ili doctor` to check the libraries this binary linked.
            """,
        version: ILIVersion.current,
        subcommands: [Doctor.self]
    )
}

enum ILIVersion {
    static let current = "0.1.0"
}
