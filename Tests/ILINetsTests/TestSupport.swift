import ILINets
import XCTest

/// Checks a tape function's gradients against central finite differences in Double.
///
/// The output is contracted with fixed random weights so that each output element gets
/// its own upstream gradient.
func checkGradients(_ inputs: [Matrix<Double>], step: Double = 1e-6, tolerance: Double = 1e-6,
                    file: StaticString = #filePath, line: UInt = #line,
                    _ function: (Tape<Double>, [Variable<Double>]) -> Variable<Double>) {
    let probe = Tape<Double>()
    let shape = function(probe, inputs.map { probe.constant($0) }).value
    var rng = RandomSource(seed: 99)
    let weights: Matrix<Double> = rng.normalMatrix(rows: shape.rows, cols: shape.cols)
    func value(_ xs: [Matrix<Double>]) -> Double {
        let tape = Tape<Double>()
        return function(tape, xs.map { tape.constant($0) }).value.zip(weights, *).storage.reduce(0, +)
    }
    let tape = Tape<Double>()
    let variables = inputs.map { tape.input($0) }
    let loss = (function(tape, variables) * tape.constant(weights)).sum()
    tape.backward(from: loss)
    for (k, input) in inputs.enumerated() {
        let analytic = tape.gradient(of: variables[k]) ?? Matrix(rows: input.rows, cols: input.cols, repeating: 0)
        var worst = 0.0, worstIndex = 0
        for i in 0..<input.count {
            var plus = inputs, minus = inputs
            plus[k].storage[i] += step
            minus[k].storage[i] -= step
            let numeric = (value(plus) - value(minus)) / (2 * step)
            let error = abs(analytic.storage[i] - numeric) / max(1, abs(numeric))
            if error > worst { worst = error; worstIndex = i }
        }
        XCTAssertLessThan(worst, tolerance, "input \(k) (\(input.shapeDescription)): worst relative error \(worst) at element \(worstIndex)",
                          file: file, line: line)
    }
}

/// log |det J| of `map` at the point `x` (1 × d), by central differences.
func finiteDifferenceLogAbsDeterminant(at x: Matrix<Double>, step: Double = 1e-5,
                                       _ map: (Matrix<Double>) -> Matrix<Double>) -> Double {
    let d = x.cols
    var jacobian = [[Double]](repeating: [Double](repeating: 0, count: d), count: d)
    for j in 0..<d {
        var plus = x, minus = x
        plus.storage[j] += step
        minus.storage[j] -= step
        let fp = map(plus), fm = map(minus)
        for i in 0..<d { jacobian[i][j] = (fp.storage[i] - fm.storage[i]) / (2 * step) }
    }
    return logAbsDeterminant(jacobian)
}

/// log |det A| by Gaussian elimination with partial pivoting.
func logAbsDeterminant(_ matrix: [[Double]]) -> Double {
    var a = matrix
    let n = a.count
    var result = 0.0
    for c in 0..<n {
        let pivot = (c..<n).max { abs(a[$0][c]) < abs(a[$1][c]) }!
        a.swapAt(c, pivot)
        result += log(abs(a[c][c]))
        for r in (c + 1)..<n {
            let f = a[r][c] / a[c][c]
            for k in c..<n { a[r][k] -= f * a[c][k] }
        }
    }
    return result
}

/// ∫ exp(log q(y | c)) dy over a regular grid on [low, high]^d (d = 1 or 2), by the midpoint rule.
///
/// Takes Float models only so that everything here is specialised (generic test helpers
/// would run the engine unspecialised, tens of times slower).
func integrateDensity(_ model: any ConditionalDensityEstimator<Float>, context: [Float], low: Double, high: Double,
                      pointsPerAxis n: Int) -> Double {
    let d = model.featureCount
    let h = (high - low) / Double(n)
    let axis = (0..<n).map { low + (Double($0) + 0.5) * h }
    var points: [Float] = []
    if d == 1 {
        points = axis.map { Float($0) }
    } else {
        for a in axis { for b in axis { points += [Float(a), Float(b)] } }
    }
    let rows = points.count / d
    let y = Matrix<Float>(rows: rows, cols: d, points)
    let c = Matrix<Float>(rows: rows, cols: context.count) { _, j in context[j] }
    let logQ = try! model.logProb(of: y, given: c)
    var total = 0.0
    for v in logQ { total += Foundation.exp(Double(v)) }
    return total * pow(h, Double(d))
}

/// Trains `model` by maximum likelihood with Adam on minibatches; returns the last epoch's mean loss.
@discardableResult
func fit(_ model: any ConditionalDensityEstimator<Float>, y: Matrix<Float>, context: Matrix<Float>, epochs: Int,
         batch: Int = 100, learningRate: Float = 1e-3, seed: UInt64 = 0) -> Double {
    model.fitStandardization(features: y, context: context)
    var adam = Adam(parameters: model.parameters, learningRate: learningRate)
    var rng = RandomSource(seed: seed)
    let tape = Tape<Float>()
    let parameters = model.parameters
    var last = 0.0
    for _ in 0..<epochs {
        let order = rng.permutation(y.rows)
        var total = 0.0, batches = 0
        for start in stride(from: 0, to: y.rows, by: batch) {
            let rows = Array(order[start..<min(start + batch, y.rows)])
            tape.reset()
            let loss = -model.logProb(tape.constant(y.rows(at: rows)), context: tape.constant(context.rows(at: rows))).mean()
            tape.backward(from: loss)
            clipGradientNorm(parameters, maxNorm: 5)
            adam.step()
            total += Double(loss.value.scalar)
            batches += 1
        }
        last = total / Double(batches)
    }
    return last
}

/// Mean of `values`.
func mean<T: BinaryFloatingPoint>(_ values: [T]) -> Double {
    values.reduce(0.0) { $0 + Double($1) } / Double(values.count)
}
