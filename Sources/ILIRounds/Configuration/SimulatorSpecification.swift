import Foundation
import ILIInference

/// The `simulator` key of an experiment: a built-in simulator by name, or any program.
///
/// ```yaml
/// simulator: two_moons                       # or gaussian_linear, ltu_toy, power_spectrum, gw_chirp, halo_cloud, lotka_volterra, sir
/// simulator: {name: gaussian_linear, dimension: 5}
/// simulator: {exec: 'python3 simulate.py', workers: 2, batch_size: 100, timeout: 600}
/// simulator: {exec: 'python3 simulate.py', x_width: 10}   # a fleet coordinator that does not run it
/// ```
public enum SimulatorSpecification: Sendable, Equatable {
    case builtIn(name: String, dimension: Int?)
    /// `settings.workers` and friends as configured; x's width is learned by a first probe.
    case exec(ExecSimulationBackend.Settings)

    static let execKeys: Set<String> = ["exec", "workers", "batch_size", "timeout", "x_width"]

    public static func parse(_ node: ConfigNode, baseDirectory: URL) throws -> SimulatorSpecification {
        if case .scalar = node.node {
            return .builtIn(name: try builtInName(node), dimension: nil)
        }
        let m = try node.mapping()
        if m.optional("exec") != nil {
            let e = try node.mapping(allowing: execKeys)
            let command = try e.required("exec").string().trimmingCharacters(in: .whitespaces)
            guard !command.isEmpty else { throw try e.required("exec").error(.invalidValue, "give a command line, e.g. 'python3 simulate.py'") }
            let timeout: Double
            if let n = e.optional("timeout") {
                timeout = try n.double()
                if !(timeout > 0) { throw n.error(.invalidValue, "must be a positive number of seconds, got \(timeout)") }
            } else {
                timeout = 600
            }
            return .exec(.init(command: command, directory: baseDirectory,
                               workers: try e.wholeNumber("workers", atLeast: 1) ?? ProcessInfo.processInfo.activeProcessorCount,
                               batchSize: try e.wholeNumber("batch_size", atLeast: 1) ?? 100, timeout: timeout,
                               xWidth: try e.wholeNumber("x_width", atLeast: 1)))
        }
        let b = try node.mapping(allowing: ["name", "dimension"])
        let name = try builtInName(try b.required("name"))
        let dimension = try b.wholeNumber("dimension", atLeast: 1)
        if dimension != nil && name != "gaussian_linear" {
            throw try b.required("dimension").error(.invalidValue, "only gaussian_linear takes a dimension; \(name)'s is fixed")
        }
        return .builtIn(name: name, dimension: dimension)
    }

    static func builtInName(_ node: ConfigNode) throws -> String {
        let name = try node.string()
        guard BuiltInSimulator.names.contains(name) else {
            throw node.error(.invalidValue, "unknown simulator '\(name)': the built-in ones are \(BuiltInSimulator.names.joined(separator: ", ")); any other program runs with {exec: 'COMMAND ARGS'}")
        }
        return name
    }

    /// The built-in simulator, for `.builtIn`.
    public var builtIn: BuiltInSimulator? {
        guard case .builtIn(let name, let dimension) = self else { return nil }
        return BuiltInSimulator.named(name, dimension: dimension)
    }

    /// A stable description for comparing configurations.
    var identity: String {
        switch self {
        case .builtIn(let name, let dimension): return dimension.map { "\(name)(dimension: \($0))" } ?? name
        case .exec(let s): return "exec: \(s.command)"
        }
    }
}
