import Foundation
import ILIInference
import ILITensor

/// A point cloud of dark-matter "halos": a variable number of 3-D positions and masses in a
/// unit box, the kind of catalogue a cosmological simulation or a galaxy survey yields,
/// whose natural summary is a set rather than a fixed-length vector.
///
/// θ = (A, r):
/// - the abundance amplitude A sets the number of halos, N ~ Poisson(30 A), capped at
///   `maxPoints` (64, reached by about 0.3% of draws at A = 1.5), and the mass function:
///   dn/dM ∝ M^(−α) for M ≥ 1 (in 10¹² solar masses), with α = 2.5 − A/2, so that a higher
///   amplitude also gives a heavier tail of massive halos;
/// - the cluster radius r: halos gather around 3 centres drawn uniformly in [0.2, 0.8]³,
///   each halo around one of them at random, displaced by N(0, r² I₃) and reflected at the
///   box's walls into [0, 1]³.
///
/// x is the padded set of `SetLayout(maxPoints: 64, pointFeatures: 4)`: 64 slots of
/// (present, x, y, z, log₁₀ M), the halos in the first N slots, the rest zeros: 320 values.
/// The halos are independent draws, so their order carries nothing.
public struct HaloCloudSimulator: Simulator {
    public static let layout = SetLayout(maxPoints: 64, pointFeatures: 4)
    public static let meanCountPerAmplitude = 30.0
    public static let centreCount = 3
    public static let prior = PriorSpecification.uniform(low: [0.5, 0.02], high: [1.5, 0.2])

    public init() {}

    public var thetaDimension: Int { 2 }
    public var xDimension: Int { Self.layout.valueCount }

    /// The mass function's slope at amplitude A.
    public static func massSlope(amplitude: Double) -> Double { 2.5 - amplitude / 2 }

    /// A Poisson draw by inversion, at most `cap` (the probabilities are summed up to the cap).
    static func poisson(_ mean: Double, cap: Int, rng: inout RandomSource) -> Int {
        let u = rng.uniform()
        var k = 0
        var probability = exp(-mean)
        var cumulative = probability
        while u >= cumulative && k < cap {
            k += 1
            probability *= mean / Double(k)
            cumulative += probability
        }
        return k
    }

    /// `value` folded into [0, 1] by reflection at 0 and 1, as often as it takes.
    static func reflectedIntoUnitInterval(_ value: Double) -> Double {
        let folded = value.truncatingRemainder(dividingBy: 2)
        let positive = folded < 0 ? folded + 2 : folded
        return positive > 1 ? 2 - positive : positive
    }

    /// The halos of one cloud: (x, y, z, log₁₀ M) each.
    public func halos(amplitude: Double, radius: Double, rng: inout RandomSource) -> [[Double]] {
        let centres = (0..<Self.centreCount).map { _ in (0..<3).map { _ in rng.uniform(in: 0.2, 0.8) } }
        let count = Self.poisson(Self.meanCountPerAmplitude * amplitude, cap: Self.layout.maxPoints, rng: &rng)
        let slope = Self.massSlope(amplitude: amplitude)
        return (0..<count).map { _ in
            let centre = centres[min(Int(rng.uniform() * Double(Self.centreCount)), Self.centreCount - 1)]
            var halo = centre.map { Self.reflectedIntoUnitInterval($0 + radius * rng.normal()) }
            // Inversion of the Pareto tail: M = u^(−1/(α−1)) for u in (0, 1].
            let u = 1 - rng.uniform()
            halo.append(-log10(u) / (slope - 1))
            return halo
        }
    }

    public func simulate(_ theta: Matrix<Double>, rng: inout RandomSource) -> Matrix<Double> {
        precondition(theta.cols == 2, "the halo-cloud simulator takes θ = (amplitude, cluster radius), got width \(theta.cols)")
        let rows = (0..<theta.rows).map { i in
            Self.layout.row(halos(amplitude: theta[i, 0], radius: theta[i, 1], rng: &rng))
        }
        return Matrix(rows: theta.rows, cols: xDimension, rows.flatMap { $0 })
    }
}
