import ILITensor

/// The posterior at one observation compared with reference samples of the true posterior
/// (from an exact task or a trusted sampler) by the classifier two-sample test.
///
/// ```swift
/// var rng = RandomSource(seed: 5)
/// let comparison = try ReferenceComparison.run(posterior: posterior, observation: xo,
///                                              reference: exactSamples, rng: &rng)
/// comparison.c2stAccuracy   // 0.5 is indistinguishable
/// ```
public enum ReferenceComparison {
    public struct Result: Sendable, Codable, Equatable {
        public var c2stAccuracy: Double
        /// How many samples of each side the classifier saw.
        public var samples: Int
    }

    public static func run(posterior: any Posterior, observation: Matrix<Double>, reference: Matrix<Double>,
                           rng: inout RandomSource) throws -> Result {
        guard observation.rows == 1 else {
            throw ValidationSuiteError("a reference comparison takes one observation (1×\(posterior.xDimension)), got \(observation.shapeDescription)")
        }
        guard reference.cols == posterior.thetaDimension else {
            throw ValidationSuiteError("the reference samples have \(reference.cols) columns but the posterior has \(posterior.thetaDimension) parameters")
        }
        guard reference.rows >= 10 else {
            throw ValidationSuiteError("C2ST needs at least 10 reference samples (1000 or more is usual), got \(reference.rows)")
        }
        let candidate = try posterior.sample(reference.rows, observations: observation, rng: &rng)
        let accuracy = C2ST.accuracy(reference: reference, candidate: candidate, seed: rng.next())
        return Result(c2stAccuracy: accuracy, samples: reference.rows)
    }
}
