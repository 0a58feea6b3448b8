import RealModule

/// Adaptive explicit Runge–Kutta integration of y′ = f(t, y) with the Dormand–Prince 5(4)
/// pair: each step advances with the fifth-order solution and uses its difference from the
/// embedded fourth-order one as the local error estimate that sizes the next step.
///
/// The step is shortened to land exactly on every requested time, so no interpolation
/// error enters the saved states; the ODE tasks save ten states, which costs a handful of
/// extra steps.
///
/// ```swift
/// let solver = DormandPrince(relativeTolerance: 1e-10, absoluteTolerance: 1e-12)
/// let states = solver.solve(from: [1], at: 0, to: [1, 2]) { _, y, dy in dy[0] = -y[0] }
/// // states?[1][0] ≈ exp(−2)
/// ```
public struct DormandPrince: Sendable {
    public var relativeTolerance: Double
    public var absoluteTolerance: Double
    /// Accepted plus rejected steps before the solve gives up.
    public var maxSteps: Int

    public init(relativeTolerance: Double = 1e-10, absoluteTolerance: Double = 1e-10, maxSteps: Int = 100_000) {
        precondition(relativeTolerance > 0 && absoluteTolerance > 0, "tolerances must be positive")
        self.relativeTolerance = relativeTolerance
        self.absoluteTolerance = absoluteTolerance
        self.maxSteps = maxSteps
    }

    // The Dormand–Prince (1980) tableau: nodes c, stage weights a, fifth-order weights b
    // (which equal the last stage's row, so the last stage is the next step's first) and
    // e = b − b̂, the difference to the fourth-order weights.
    private static let c: [Double] = [0, 1.0 / 5, 3.0 / 10, 4.0 / 5, 8.0 / 9, 1, 1]
    private static let a: [[Double]] = [
        [],
        [1.0 / 5],
        [3.0 / 40, 9.0 / 40],
        [44.0 / 45, -56.0 / 15, 32.0 / 9],
        [19372.0 / 6561, -25360.0 / 2187, 64448.0 / 6561, -212.0 / 729],
        [9017.0 / 3168, -355.0 / 33, 46732.0 / 5247, 49.0 / 176, -5103.0 / 18656],
        [35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84],
    ]
    private static let e: [Double] = [71.0 / 57600, 0, -71.0 / 16695, 71.0 / 1920, -17253.0 / 339200, 22.0 / 525, -1.0 / 40]

    /// The state at each of `times` (non-decreasing, none before `t0`), starting from `y0`
    /// at `t0`; nil when the solution stops being finite or needs more than `maxSteps` steps.
    public func solve(from y0: [Double], at t0: Double, to times: [Double],
                      derivative f: (_ t: Double, _ y: [Double], _ dy: inout [Double]) -> Void) -> [[Double]]? {
        precondition(zip(times, times.dropFirst()).allSatisfy { $0 <= $1 } && (times.first ?? t0) >= t0,
                     "output times must be non-decreasing and not before the start")
        let n = y0.count
        var y = y0, t = t0
        var k = [[Double]](repeating: [Double](repeating: 0, count: n), count: 7)
        var stage = y0, next = y0
        f(t, y, &k[0])
        var h = initialStep(y: y, slope: k[0], span: (times.last ?? t0) - t0)
        var out: [[Double]] = []
        out.reserveCapacity(times.count)
        var steps = 0

        for target in times {
            while t < target {
                steps += 1
                guard steps <= maxSteps, h.isFinite, h > 0 else { return nil }
                // Land on the target rather than step past it; a last step within rounding
                // of the target is taken as reaching it.
                let lands = t + h >= target - 1e-12 * Swift.max(1, Swift.abs(target))
                let step = lands ? target - t : h
                for s in 1..<7 {
                    for i in 0..<n {
                        var sum = 0.0
                        for j in 0..<s { sum += Self.a[s][j] * k[j][i] }
                        stage[i] = y[i] + step * sum
                    }
                    f(t + Self.c[s] * step, stage, &k[s])
                }
                // The sixth stage's argument is the fifth-order solution itself.
                for i in 0..<n { next[i] = stage[i] }
                var squared = 0.0
                for i in 0..<n {
                    var error = 0.0
                    for j in 0..<7 { error += Self.e[j] * k[j][i] }
                    let scale = absoluteTolerance + relativeTolerance * Swift.max(Swift.abs(y[i]), Swift.abs(next[i]))
                    let r = step * error / scale
                    squared += r * r
                }
                let norm = (squared / Double(n)).squareRoot()
                guard norm.isFinite else {
                    h = step / 10
                    continue
                }
                // Grow or shrink by (1/err)^(1/5) with a safety factor, within [0.2, 5].
                let factor = Swift.min(5, Swift.max(0.2, 0.9 * Double.pow(Swift.max(norm, 1e-10), -0.2)))
                if norm <= 1 {
                    t = lands ? target : t + step
                    swap(&y, &next)
                    k.swapAt(0, 6)
                    guard y.allSatisfy({ $0.isFinite }) else { return nil }
                    // A step cut short to land on the target says nothing about the step size
                    // the solution allows, so it does not shrink the next one.
                    h = lands ? Swift.max(h, step * factor) : step * factor
                } else {
                    h = step * factor
                }
            }
            out.append(y)
        }
        return out
    }

    /// A first step from the size of the slope relative to the state (Hairer, Nørsett and
    /// Wanner's first guess, without their second derivative refinement): the adaptive
    /// control corrects it within a few steps either way.
    private func initialStep(y: [Double], slope: [Double], span: Double) -> Double {
        var d0 = 0.0, d1 = 0.0
        for i in y.indices {
            let scale = absoluteTolerance + relativeTolerance * Swift.abs(y[i])
            d0 += (y[i] / scale) * (y[i] / scale)
            d1 += (slope[i] / scale) * (slope[i] / scale)
        }
        let guess = (d0 < 1e-10 || d1 < 1e-10) ? 1e-6 : 0.01 * (d0 / d1).squareRoot()
        return Swift.min(guess, Swift.max(span, 1e-6))
    }
}
