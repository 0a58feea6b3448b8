import ILIInference
import ILITensor

/// The simulators ili carries, by the name a configuration gives (`simulator: two_moons`).
public struct BuiltInSimulator: Sendable {
    public let name: String
    public let simulator: any Simulator
    /// The prior the simulator is usually paired with, used when a configuration has none.
    public let defaultPrior: PriorSpecification

    public static let names = ["two_moons", "gaussian_linear", "ltu_toy", "power_spectrum", "gw_chirp", "halo_cloud", "lotka_volterra", "sir"]

    /// The simulator called `name`; `dimension` sizes `gaussian_linear` (default 10).
    public static func named(_ name: String, dimension: Int? = nil) -> BuiltInSimulator? {
        switch name {
        case "two_moons":
            return BuiltInSimulator(name: name, simulator: TwoMoons(), defaultPrior: .uniform(low: [-1, -1], high: [1, 1]))
        case "gaussian_linear":
            let task = GaussianLinear(dimension: dimension ?? 10)
            return BuiltInSimulator(name: name, simulator: task, defaultPrior: task.prior.specification)
        case "ltu_toy":
            return BuiltInSimulator(name: name, simulator: LtUToy(), defaultPrior: .uniform(low: [0, 0, 0], high: [1, 1, 1]))
        case "power_spectrum":
            return BuiltInSimulator(name: name, simulator: PowerSpectrumSimulator(), defaultPrior: PowerSpectrumSimulator.prior)
        case "gw_chirp":
            return BuiltInSimulator(name: name, simulator: ChirpSimulator(), defaultPrior: ChirpSimulator.prior)
        case "halo_cloud":
            return BuiltInSimulator(name: name, simulator: HaloCloudSimulator(), defaultPrior: HaloCloudSimulator.prior)
        case "lotka_volterra":
            return BuiltInSimulator(name: name, simulator: LotkaVolterra(), defaultPrior: LotkaVolterra.priorSpecification)
        case "sir":
            return BuiltInSimulator(name: name, simulator: SIREpidemic(), defaultPrior: SIREpidemic.priorSpecification)
        default:
            return nil
        }
    }

    /// x for each θ row, row i drawn from its own random source seeded by `seeds[i]`, so
    /// that a simulation does not depend on which others share its batch.
    public func simulate(_ theta: Matrix<Double>, seeds: [UInt64]) -> Matrix<Double> {
        precondition(theta.rows == seeds.count, "one seed per θ row")
        var out = Matrix<Double>(rows: theta.rows, cols: simulator.xDimension, repeating: 0)
        for i in 0..<theta.rows {
            var rng = RandomSource(seed: seeds[i])
            let x = simulator.simulate(theta.rows(at: [i]), rng: &rng)
            for j in 0..<x.cols { out[i, j] = x[0, j] }
        }
        return out
    }
}
