/// The posterior mean and standard deviation at every test point against the truth, and
/// how probable the posterior finds the truths.
///
/// Not a calibration test by itself but what a scientist asks first: how close do the
/// estimates come, and do the error bars match the errors? For a calibrated posterior the
/// root-mean-square error is about the typical posterior standard deviation.
///
/// ```swift
/// let predictions = Predictions.evaluate(draws)
/// predictions.parameters[0].rootMeanSquareError
/// predictions.logProbOfTruth?.median
/// ```
public enum Predictions {
    public struct ParameterResult: Sendable, Codable, Equatable {
        /// Posterior mean at each test point.
        public var mean: [Double]
        /// Posterior standard deviation at each test point.
        public var standardDeviation: [Double]
        public var rootMeanSquareError: Double
        /// The root of the mean posterior variance: what the error bars claim on average.
        public var typicalStandardDeviation: Double
        /// The mean of ((mean − truth) / std)²: about 1 when the error bars are honest.
        public var meanSquaredZ: Double
    }

    public struct LogProbSummary: Sendable, Codable, Equatable {
        public var mean: Double
        public var median: Double
        /// Truths the posterior gives zero density (log-probability −∞), left out of the mean.
        public var excludedInfinite: Int
        /// Whether the log-probabilities are normalised; if not, they compare only within one posterior.
        public var normalized: Bool
    }

    public struct Result: Sendable, Codable, Equatable {
        public var parameters: [ParameterResult]
        public var logProbOfTruth: LogProbSummary?
    }

    public static func evaluate(_ draws: TestSetDraws, logProbIsNormalized: Bool = true) -> Result {
        let n = draws.testPoints, d = draws.parameterCount
        let means = draws.sampleMeans, stds = draws.sampleStandardDeviations
        let parameters = (0..<d).map { j -> ParameterResult in
            var squaredError = 0.0, variance = 0.0, z2 = 0.0
            for i in 0..<n {
                let error = means[j][i] - draws.theta[i, j]
                squaredError += error * error
                variance += stds[j][i] * stds[j][i]
                z2 += stds[j][i] > 0 ? error * error / (stds[j][i] * stds[j][i]) : .infinity
            }
            return ParameterResult(mean: means[j], standardDeviation: stds[j],
                                   rootMeanSquareError: (squaredError / Double(n)).squareRoot(),
                                   typicalStandardDeviation: (variance / Double(n)).squareRoot(),
                                   meanSquaredZ: z2 / Double(n))
        }
        let logProb = draws.truthLogProb.map { values -> LogProbSummary in
            let finite = values.filter(\.isFinite)
            // The median keeps −∞ truths (they sort first), the mean cannot.
            let ordered = values.map { $0.isNaN ? -Double.infinity : $0 }
            return LogProbSummary(mean: SampleStatistics.mean(finite), median: SampleStatistics.median(ordered),
                                  excludedInfinite: values.count - finite.count, normalized: logProbIsNormalized)
        }
        return Result(parameters: parameters, logProbOfTruth: logProb)
    }
}
