import Foundation
import ILIInference
import ILITensor

/// A gravitational-wave-shaped simulator: the inspiral chirp of a compact binary in white
/// noise, a time series of `sampleCount` values over one unit of time.
///
/// θ = (m, q): the chirp mass 𝓜 = m · 𝓜₀ (𝓜₀ = 2.5·10⁻⁴ time units, so m = 1 gives about 21
/// cycles in the window) and the mass ratio q ∈ (0, 1], through the symmetric mass ratio
/// η = q / (1 + q)². The phase follows the post-Newtonian inspiral to first order, in
/// terms of the time to coalescence τ = t_c − t (t_c = 1.05, just after the window ends):
///
///     φ(τ) = −2 (τ / 5𝓜)^(5/8) [1 + (3715/8064 + 55η/96) η^(−2/5) (5𝓜 / τ)^(1/4)]
///
/// The leading term depends on 𝓜 alone; the first-order term brings in η, weakly, so q is
/// constrained far less than 𝓜 and the two are correlated, as in real detections. The
/// amplitude grows as 𝓜^(5/4) τ^(−1/4) (h ∝ 𝓜^(5/3) f^(2/3) at a fixed distance), scaled to
/// 1 at the window's start for m = 1, and the noise is N(0, 1) per sample: a signal-to-noise
/// ratio of about 14 at m = 1. The frequency stays below 75 cycles per unit (the Nyquist
/// frequency is 128) over the prior, m ∈ [0.5, 1.5], q ∈ [0.25, 1].
public struct ChirpSimulator: Simulator {
    public let sampleCount: Int
    public static let referenceChirpMass = 2.5e-4
    public static let coalescenceTime = 1.05
    public static let noiseStd = 1.0
    public static let prior = PriorSpecification.uniform(low: [0.5, 0.25], high: [1.5, 1.0])

    public init(sampleCount: Int = 256) {
        precondition(sampleCount >= 16, "a chirp needs at least 16 samples")
        self.sampleCount = sampleCount
    }

    public var thetaDimension: Int { 2 }
    public var xDimension: Int { sampleCount }

    /// Time to coalescence at sample i.
    func timeToCoalescence(_ i: Int) -> Double { Self.coalescenceTime - Double(i) / Double(sampleCount) }

    /// The phase at time to coalescence τ.
    public static func phase(chirpMass m: Double, massRatio q: Double, timeToCoalescence tau: Double) -> Double {
        let chirpMass = m * referenceChirpMass
        let eta = q / ((1 + q) * (1 + q))
        let correction = (3715.0 / 8064 + 55 * eta / 96) * pow(eta, -0.4) * pow(5 * chirpMass / tau, 0.25)
        return -2 * pow(tau / (5 * chirpMass), 0.625) * (1 + correction)
    }

    /// The noise-free waveform.
    public func signal(chirpMass m: Double, massRatio q: Double) -> [Double] {
        (0..<sampleCount).map { i in
            let tau = timeToCoalescence(i)
            let amplitude = pow(m, 1.25) * pow(tau / Self.coalescenceTime, -0.25)
            return amplitude * cos(Self.phase(chirpMass: m, massRatio: q, timeToCoalescence: tau))
        }
    }

    public func simulate(_ theta: Matrix<Double>, rng: inout RandomSource) -> Matrix<Double> {
        precondition(theta.cols == 2, "the chirp simulator takes θ = (chirp mass, mass ratio), got width \(theta.cols)")
        var out = Matrix<Double>(rows: theta.rows, cols: sampleCount, repeating: 0)
        for i in 0..<theta.rows {
            for (t, value) in signal(chirpMass: theta[i, 0], massRatio: theta[i, 1]).enumerated() {
                out[i, t] = value + Self.noiseStd * rng.normal()
            }
        }
        return out
    }
}
