import ILITensor

extension MCMCPosterior {
    /// The maximum a posteriori θ at one observation, found without gradients (the network
    /// term may be a classifier's): the best of `candidates` MCMC draws by the unnormalised
    /// log posterior, refined by a compass search. Each round tries a step up and down
    /// along every parameter, all in one network call, moves to the best improvement, and
    /// halves the steps when nothing improves. Steps start at a tenth of the draws'
    /// standard deviation and the search ends when they have shrunk a thousandfold or
    /// after `maxRounds`. Points outside the prior's support have log posterior −∞, so the
    /// search stays inside it.
    ///
    /// ```swift
    /// let best = try posterior.map(observation: [0.1, -0.2], rng: &rng)
    /// ```
    public func map(observation: [Double], candidates: Int = 1000, maxRounds: Int = 200,
                    rng: inout RandomSource) throws -> [Double] {
        let x = Matrix(rows: 1, cols: observation.count, observation)
        try checkObservations(x)
        let d = thetaDimension
        let draws = try sample(max(candidates, 2), observations: x, rng: &rng)
        func logPosterior(_ theta: Matrix<Double>) -> [Double] {
            potential(theta, observations: Matrix(rows: theta.rows, cols: x.cols) { _, j in observation[j] })
        }
        let values = logPosterior(draws)
        guard let start = values.indices.filter({ values[$0].isFinite }).max(by: { values[$0] < values[$1] }) else {
            throw PosteriorError(.samplingFailed, "no posterior draw has a finite log posterior at this observation")
        }
        var theta = draws.row(start), value = values[start]
        var steps = (0..<d).map { j -> Double in
            let column = (0..<draws.rows).map { draws[$0, j] }
            let mean = column.reduce(0, +) / Double(column.count)
            let sd = (column.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(column.count - 1)).squareRoot()
            return sd > 0 ? 0.1 * sd : 1e-3 * max(abs(theta[j]), 1)
        }
        let smallest = steps.map { $0 / 1000 }
        for _ in 0..<maxRounds {
            let trials = Matrix<Double>(rows: 2 * d, cols: d) { r, j in
                theta[j] + (j == r / 2 ? (r % 2 == 0 ? steps[j] : -steps[j]) : 0)
            }
            let trialValues = logPosterior(trials)
            if let best = trialValues.indices.max(by: { trialValues[$0] < trialValues[$1] }), trialValues[best] > value {
                theta = trials.row(best)
                value = trialValues[best]
            } else {
                steps = steps.map { $0 / 2 }
                if zip(steps, smallest).allSatisfy({ $0 < $1 }) { break }
            }
        }
        return theta
    }
}
