import ILITensor

/// Posterior samples for every point of a held-out test set, with the log-probabilities
/// the density-based checks need: the input shared by SBC, coverage, TARP and predictions.
///
/// Drawing is batched across test points (one `sample` call per chunk of points) because
/// evaluating hundreds of points one call at a time would spend most of its time in
/// per-call overhead of the network posteriors.
///
/// ```swift
/// var rng = RandomSource(seed: 1)
/// let draws = try TestSetDraws.draw(from: posterior, theta: testTheta, observations: testX,
///                                   samplesPerPoint: 1000, rng: &rng)
/// draws.parameterRanks[0][2]   // how many of point 0's samples lie below its true θ₂
/// ```
public struct TestSetDraws: Sendable {
    /// The true parameters, one row per test point (n × d).
    public let theta: Matrix<Double>
    /// L samples per point, rows `i·L..<(i+1)·L` for point i ((n·L) × d).
    public let samples: Matrix<Double>
    public let samplesPerPoint: Int
    /// log q(θᵢ | xᵢ) of each truth, when the posterior has a density.
    public let truthLogProb: [Double]?
    /// log q of each sample under its own point's observation, aligned with `samples`.
    public let sampleLogProb: [Double]?

    public var testPoints: Int { theta.rows }
    public var parameterCount: Int { theta.cols }

    /// Samples (and log-probabilities) already drawn, e.g. by another program or by hand.
    public init(theta: Matrix<Double>, samples: Matrix<Double>, samplesPerPoint: Int,
                truthLogProb: [Double]? = nil, sampleLogProb: [Double]? = nil) {
        precondition(samplesPerPoint > 0 && samples.rows == theta.rows * samplesPerPoint,
                     "\(samples.rows) sample rows are not \(samplesPerPoint) per each of \(theta.rows) test points")
        precondition(samples.cols == theta.cols, "samples of width \(samples.cols) for θ of width \(theta.cols)")
        precondition(truthLogProb.map { $0.count == theta.rows } ?? true, "one truth log-probability per test point")
        precondition(sampleLogProb.map { $0.count == samples.rows } ?? true, "one log-probability per sample")
        self.theta = theta
        self.samples = samples
        self.samplesPerPoint = samplesPerPoint
        self.truthLogProb = truthLogProb
        self.sampleLogProb = sampleLogProb
    }

    /// Draws `samplesPerPoint` samples for each test point and evaluates the log-probability
    /// of the truths and of every sample, `chunkSize` test points per posterior call.
    public static func draw(from posterior: any Posterior, theta: Matrix<Double>, observations: Matrix<Double>,
                            samplesPerPoint: Int, rng: inout RandomSource, chunkSize: Int = 100) throws -> TestSetDraws {
        guard theta.rows == observations.rows, theta.rows > 0 else {
            throw ValidationSuiteError("the test set has \(theta.rows) θ rows and \(observations.rows) x rows; give one x row per θ row (and at least one)")
        }
        guard theta.cols == posterior.thetaDimension else {
            throw ValidationSuiteError("the test θ has \(theta.cols) columns but the posterior has \(posterior.thetaDimension) parameters")
        }
        guard observations.cols == posterior.xDimension else {
            throw ValidationSuiteError("the test x has \(observations.cols) columns but the posterior takes x of width \(posterior.xDimension)")
        }
        guard samplesPerPoint >= 2 else {
            throw ValidationSuiteError("validation needs at least 2 posterior samples per test point (1000 is usual), got \(samplesPerPoint)")
        }
        let n = theta.rows, d = theta.cols, l = samplesPerPoint
        var samples = [Double]()
        samples.reserveCapacity(n * l * d)
        var sampleLogProb = [Double]()
        sampleLogProb.reserveCapacity(n * l)
        let truthLogProb = try posterior.logProb(theta, observations: observations)
        var start = 0
        while start < n {
            let indices = Array(start..<Swift.min(start + chunkSize, n))
            let chunkX = observations.rows(at: indices)
            let chunkSamples = try posterior.sample(l, observations: chunkX, rng: &rng)
            guard chunkSamples.rows == indices.count * l, chunkSamples.cols == d else {
                throw ValidationSuiteError("the posterior returned \(chunkSamples.shapeDescription) samples for \(indices.count) observations × \(l); expected \(indices.count * l)x\(d)")
            }
            let repeatedX = chunkX.rows(at: (0..<(indices.count * l)).map { $0 / l })
            sampleLogProb += try posterior.logProb(chunkSamples, observations: repeatedX)
            samples += chunkSamples.storage
            start += chunkSize
        }
        return TestSetDraws(theta: theta, samples: Matrix(rows: n * l, cols: d, samples), samplesPerPoint: l,
                            truthLogProb: truthLogProb, sampleLogProb: sampleLogProb)
    }

    /// For each parameter j, for each test point i: how many of i's samples lie below θᵢⱼ.
    public var parameterRanks: [[Int]] {
        let l = samplesPerPoint, d = parameterCount
        var ranks = [[Int]](repeating: [Int](repeating: 0, count: testPoints), count: d)
        samples.storage.withUnsafeBufferPointer { s in
            for i in 0..<testPoints {
                for j in 0..<d {
                    let truth = theta[i, j]
                    var below = 0
                    for k in (i * l)..<((i + 1) * l) where s[k * d + j] < truth { below += 1 }
                    ranks[j][i] = below
                }
            }
        }
        return ranks
    }

    /// For each test point: how many of its samples have a higher log-probability than the
    /// truth, i.e. lie inside the highest-density region whose boundary passes through it.
    /// Nil when the posterior gave no log-probabilities.
    public var densityRanks: [Int]? {
        guard let truthLogProb, let sampleLogProb else { return nil }
        let l = samplesPerPoint
        return (0..<testPoints).map { i in
            var above = 0
            for k in (i * l)..<((i + 1) * l) where sampleLogProb[k] > truthLogProb[i] { above += 1 }
            return above
        }
    }

    /// A rank among L samples as a credibility in (0, 1): (rank + ½) / (L + 1).
    ///
    /// Under calibration the rank is uniform on 0…L, so this midpoint is uniform on a grid
    /// of L + 1 points centred in (0, 1), off the continuous uniform by at most ½ / (L + 1).
    public func credibility(ofRank rank: Int) -> Double {
        (Double(rank) + 0.5) / Double(samplesPerPoint + 1)
    }
}
