import ILITensor

/// What the checks need from a posterior's samples at every point of a held-out test set:
/// per point and parameter the rank of the truth among the samples, the density rank, the
/// sample mean and standard deviation, and (when reference points are given) the TARP rank.
/// The input shared by SBC, coverage, TARP and predictions.
///
/// `draw` streams: it asks the posterior for a chunk of test points at a time, reduces that
/// chunk's samples to the figures above and lets them go, so memory does not grow with the
/// number of samples. Drawing is batched across test points (one `sample` call per chunk)
/// because evaluating hundreds of points one call at a time would spend most of its time in
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
    public let samplesPerPoint: Int
    /// log q(θᵢ | xᵢ) of each truth, when the posterior has a density.
    public let truthLogProb: [Double]?
    /// For each parameter j, for each test point i: how many of i's samples lie below θᵢⱼ.
    public let parameterRanks: [[Int]]
    /// For each test point: how many of its samples have a higher log-probability than the
    /// truth, i.e. lie inside the highest-density region whose boundary passes through it.
    /// Nil when the posterior gave no log-probabilities.
    public let densityRanks: [Int]?
    /// For each parameter j, for each test point i: the mean and the standard deviation
    /// (divided by L − 1) of i's samples of θⱼ.
    public let sampleMeans: [[Double]]
    public let sampleStandardDeviations: [[Double]]
    /// TARP reference points (n × d, in the unit box the truths' range is scaled to) and for
    /// each test point how many samples lie closer to its reference than the truth does;
    /// nil unless references were given (`TARP.evaluate` then draws its own).
    public let tarpReferences: Matrix<Double>?
    public let tarpRanks: [Int]?
    /// The samples themselves ((n·L) × d, rows `i·L..<(i+1)·L` for point i) and their
    /// log-probabilities, kept only when this was made from samples in memory; `draw` keeps
    /// the reductions alone.
    public let samples: Matrix<Double>?
    public let sampleLogProb: [Double]?

    public var testPoints: Int { theta.rows }
    public var parameterCount: Int { theta.cols }

    /// Samples (and log-probabilities) already drawn, e.g. by another program or by hand.
    public init(theta: Matrix<Double>, samples: Matrix<Double>, samplesPerPoint: Int,
                truthLogProb: [Double]? = nil, sampleLogProb: [Double]? = nil, tarpReferences: Matrix<Double>? = nil) {
        precondition(samplesPerPoint > 0 && samples.rows == theta.rows * samplesPerPoint,
                     "\(samples.rows) sample rows are not \(samplesPerPoint) per each of \(theta.rows) test points")
        precondition(samples.cols == theta.cols, "samples of width \(samples.cols) for θ of width \(theta.cols)")
        precondition(truthLogProb.map { $0.count == theta.rows } ?? true, "one truth log-probability per test point")
        precondition(sampleLogProb.map { $0.count == samples.rows } ?? true, "one log-probability per sample")
        var reducer = Reducer(theta: theta, samplesPerPoint: samplesPerPoint, truthLogProb: truthLogProb,
                              tarpReferences: tarpReferences)
        reducer.add(firstPoint: 0, samples: samples, sampleLogProb: sampleLogProb)
        self.init(reducer, samples: samples, sampleLogProb: sampleLogProb)
    }

    private init(_ reducer: Reducer, samples: Matrix<Double>?, sampleLogProb: [Double]?) {
        theta = reducer.theta
        samplesPerPoint = reducer.samplesPerPoint
        truthLogProb = reducer.truthLogProb
        parameterRanks = reducer.parameterRanks
        densityRanks = reducer.truthLogProb == nil || !reducer.hasSampleLogProb ? nil : reducer.densityRanks
        sampleMeans = reducer.means
        sampleStandardDeviations = reducer.standardDeviations
        tarpReferences = reducer.tarpReferences
        tarpRanks = reducer.tarpReferences == nil ? nil : reducer.tarpRanks
        self.samples = samples
        self.sampleLogProb = sampleLogProb
    }

    /// Draws `samplesPerPoint` samples for each test point and evaluates the log-probability
    /// of the truths and of every sample, `chunkSize` test points per posterior call, keeping
    /// only their reductions. With `tarpReferences` (n × d in the scaled unit box) the TARP
    /// ranks are counted too. `progress` is told the number of test points done after each chunk.
    public static func draw(from posterior: any Posterior, theta: Matrix<Double>, observations: Matrix<Double>,
                            samplesPerPoint: Int, rng: inout RandomSource, chunkSize: Int = 100,
                            tarpReferences: Matrix<Double>? = nil,
                            progress: ((_ pointsDone: Int, _ testPoints: Int) -> Void)? = nil) throws -> TestSetDraws {
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
        if let tarpReferences {
            precondition(tarpReferences.rows == theta.rows && tarpReferences.cols == theta.cols, "one TARP reference point per test point")
        }
        try checkFinite(theta, "θ")
        let n = theta.rows, d = theta.cols, l = samplesPerPoint
        var reducer = Reducer(theta: theta, samplesPerPoint: l, truthLogProb: [], tarpReferences: tarpReferences)
        var start = 0
        while start < n {
            let indices = Array(start..<Swift.min(start + Swift.max(chunkSize, 1), n))
            let chunkX = observations.rows(at: indices)
            let chunkSamples = try posterior.sample(l, observations: chunkX, rng: &rng)
            guard chunkSamples.rows == indices.count * l, chunkSamples.cols == d else {
                throw ValidationSuiteError("the posterior returned \(chunkSamples.shapeDescription) samples for \(indices.count) observations × \(l); expected \(indices.count * l)x\(d)")
            }
            // Log-densities after sampling: a direct posterior's normalisation then reuses the
            // rejection draws just made at these observations.
            reducer.truthLogProb! += try posterior.logProb(theta.rows(at: indices), observations: chunkX)
            let repeatedX = chunkX.rows(at: (0..<(indices.count * l)).map { $0 / l })
            let chunkLogProb = try posterior.logProb(chunkSamples, observations: repeatedX)
            reducer.add(firstPoint: start, samples: chunkSamples, sampleLogProb: chunkLogProb)
            start += indices.count
            progress?(start, n)
        }
        return TestSetDraws(reducer, samples: nil, sampleLogProb: nil)
    }

    /// A test set's θ must be finite: a NaN truth has no rank.
    static func checkFinite(_ theta: Matrix<Double>, _ name: String) throws {
        for i in 0..<theta.rows {
            for j in 0..<theta.cols where !theta[i, j].isFinite {
                throw ValidationSuiteError("the test \(name) holds \(theta[i, j]) in row \(i), column \(j); every test point needs finite values")
            }
        }
    }

    /// A rank among L samples as a credibility in (0, 1): (rank + ½) / (L + 1).
    ///
    /// Under calibration the rank is uniform on 0…L, so this midpoint is uniform on a grid
    /// of L + 1 points centred in (0, 1), off the continuous uniform by at most ½ / (L + 1).
    public func credibility(ofRank rank: Int) -> Double {
        (Double(rank) + 0.5) / Double(samplesPerPoint + 1)
    }

    /// Accumulates the per-point figures of a test set, one block of consecutive points at a time.
    struct Reducer {
        let theta: Matrix<Double>
        let samplesPerPoint: Int
        /// Complete before `add` (samples in memory) or grown one block ahead of it (`draw`).
        var truthLogProb: [Double]?
        let tarpReferences: Matrix<Double>?
        private let tarpScaling: (low: [Double], span: [Double])
        var parameterRanks: [[Int]]
        var densityRanks: [Int]
        var means: [[Double]]
        var standardDeviations: [[Double]]
        var tarpRanks: [Int]
        /// False once a block came without sample log-probabilities: no density ranks then.
        var hasSampleLogProb = true

        init(theta: Matrix<Double>, samplesPerPoint: Int, truthLogProb: [Double]?, tarpReferences: Matrix<Double>?) {
            self.theta = theta
            self.samplesPerPoint = samplesPerPoint
            self.truthLogProb = truthLogProb
            self.tarpReferences = tarpReferences
            tarpScaling = TARP.scaling(theta)
            let n = theta.rows, d = theta.cols
            parameterRanks = Array(repeating: Array(repeating: 0, count: n), count: d)
            densityRanks = Array(repeating: 0, count: n)
            means = Array(repeating: Array(repeating: 0, count: n), count: d)
            standardDeviations = means
            tarpRanks = densityRanks
        }

        /// Reduces the samples of points `firstPoint…` (L rows each, in order).
        mutating func add(firstPoint: Int, samples: Matrix<Double>, sampleLogProb: [Double]?) {
            let l = samplesPerPoint, d = theta.cols
            let points = samples.rows / l
            if sampleLogProb == nil { hasSampleLogProb = false }
            samples.storage.withUnsafeBufferPointer { s in
                for p in 0..<points {
                    let i = firstPoint + p
                    let rows = (p * l)..<((p + 1) * l)
                    for j in 0..<d {
                        let truth = theta[i, j]
                        var below = 0, sum = 0.0
                        for k in rows {
                            let v = s[k * d + j]
                            if v < truth { below += 1 }
                            sum += v
                        }
                        let mean = sum / Double(l)
                        var squares = 0.0
                        for k in rows { squares += (s[k * d + j] - mean) * (s[k * d + j] - mean) }
                        parameterRanks[j][i] = below
                        means[j][i] = mean
                        standardDeviations[j][i] = (squares / Double(l - 1)).squareRoot()
                    }
                    if let truthLogProb, let sampleLogProb {
                        var above = 0
                        for k in rows where sampleLogProb[k] > truthLogProb[i] { above += 1 }
                        densityRanks[i] = above
                    }
                    if let references = tarpReferences {
                        let (low, span) = tarpScaling
                        func distanceSquared(_ value: (Int) -> Double) -> Double {
                            var total = 0.0
                            for j in 0..<d {
                                let delta = (value(j) - low[j]) / span[j] - references[i, j]
                                total += delta * delta
                            }
                            return total
                        }
                        let truthDistance = distanceSquared { theta[i, $0] }
                        var closer = 0
                        for k in rows where distanceSquared({ s[k * d + $0] }) < truthDistance { closer += 1 }
                        tarpRanks[i] = closer
                    }
                }
            }
        }
    }
}
