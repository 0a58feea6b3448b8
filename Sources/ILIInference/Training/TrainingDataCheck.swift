/// What to tell a user about a training set before any training: θ outside the prior's
/// support (which no posterior can put mass on) and too few simulations to learn from.
public struct TrainingDataCheck: Sendable, Equatable {
    /// Rows whose θ lies outside the prior's support.
    public var outsideSupport: Int
    public var rows: Int
    public var parameterCount: Int

    /// Fewer simulations per parameter than this rarely give a usable posterior.
    public static let minimumPerParameter = 100

    public init(_ data: SimulationDataset, prior: any Prior) {
        rows = data.count
        parameterCount = prior.dimension
        outsideSupport = prior.contains(data.theta.converted(to: Double.self)).filter { !$0 }.count
    }

    /// Throws when most θ rows fall outside the prior's support: the θ file and the prior
    /// do not belong together (a wrong file, a wrong column order, a prior in other units).
    public func refuseIfMostlyOutside(thetaPath: String) throws {
        guard outsideSupport * 2 > rows else { return }
        throw PosteriorError(.shapeMismatch, """
            \(thetaPath): \(outsideSupport) of \(rows) θ rows lie outside the prior's support, so the simulations \
            cannot have been drawn from this prior; check the θ file, its column order and the prior's bounds
            """)
    }

    /// Warnings worth printing before training (none when all is well).
    public func warnings(thetaPath: String) -> [String] {
        var lines: [String] = []
        if outsideSupport > 0 {
            lines.append("\(thetaPath): \(outsideSupport) of \(rows) θ rows lie outside the prior's support; the posterior puts no mass there")
        }
        if rows < Self.minimumPerParameter * parameterCount {
            lines.append("only \(rows) simulations for \(parameterCount) parameter(s): posteriors are rarely usable below \(Self.minimumPerParameter) per parameter (thousands are typical)")
        }
        return lines
    }
}
