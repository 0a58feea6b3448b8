import Foundation
import ILINets
import XCTest

/// Invertibility and log-determinants of every flow step and of whole flows.
final class FlowTests: XCTestCase {
    func configurations(features: Int, context: Int) -> [DensityEstimatorConfiguration] {
        var small = DensityEstimatorConfiguration.maf(features: features, context: context)
        small.hiddenFeatures = 16
        small.transformCount = 3
        var random = small
        random.permutation = .random
        var nsf = DensityEstimatorConfiguration.nsf(features: features, context: context)
        nsf.hiddenFeatures = 16
        nsf.transformCount = 3
        var nsfPermuted = nsf
        nsfPermuted.couplingMixing = .permutation
        return [small, random, nsf, nsfPermuted]
    }

    /// Pushes the weights away from their initial values so that the test sees a generic flow
    /// (fresh LU maps are the identity, fresh residual blocks nearly so).
    func perturb<Scalar>(_ parameters: [Parameter<Scalar>], seed: UInt64, scale: Double = 0.3) {
        var rng = RandomSource(seed: seed)
        for p in parameters {
            let noise: Matrix<Scalar> = rng.normalMatrix(rows: p.value.rows, cols: p.value.cols)
            p.value.add(noise, scaledBy: Scalar(scale))
        }
    }

    func testForwardInverseRoundTripsInFloat() {
        for (d, c) in [(1, 0), (1, 2), (2, 0), (3, 2), (5, 8)] {
            for config in configurations(features: d, context: c) {
                var rng = RandomSource(seed: 7)
                let flow = ConditionalFlow<Float>(configuration: config, rng: &rng)
                perturb(flow.parameters, seed: 8, scale: 0.1)
                let y: Matrix<Float> = rng.normalMatrix(rows: 64, cols: d)
                let context: Matrix<Float> = rng.normalMatrix(rows: 64, cols: c)
                flow.fitStandardization(features: y.map { $0 * 2 + 1 }, context: context)
                let tape = Tape<Float>()
                let z = flow.transform(tape.constant(y), context: tape.constant(context)).0.value
                let back = flow.invert(z, context: context)
                var worst: Float = 0
                for i in 0..<y.count { worst = max(worst, abs(back.storage[i] - y.storage[i])) }
                XCTAssertLessThan(worst, 1e-4, "\(config.kind) d=\(d) c=\(c) \(config.resolvedPermutation) \(config.couplingMixing)")
            }
        }
    }

    func testSampleThenLogProbAgreesWithBaseDensity() {
        // For samples y = f⁻¹(z): f(y) = z, and log q(y) = log N(z) + log|det ∂z/∂y|, with
        // the determinant taken by finite differences of the map, not from the flow.
        for config in configurations(features: 3, context: 2) {
            var rng = RandomSource(seed: 11)
            let flow = ConditionalFlow<Float>(configuration: config, rng: &rng)
            perturb(flow.parameters, seed: 12, scale: 0.1)
            let context: Matrix<Float> = rng.normalMatrix(rows: 4, cols: 2)
            var sampleRng = RandomSource(seed: 5)
            let y = flow.sample(25, context: context, rng: &sampleRng)
            XCTAssertEqual(y.rows, 100)
            // The same seed draws the same base points.
            var zRng = RandomSource(seed: 5)
            let z: Matrix<Float> = zRng.normalMatrix(rows: 100, cols: 3)
            let repeated = Matrix<Float>(rows: 100, cols: 2) { i, j in context[i / 25, j] }
            let tape = Tape<Float>()
            let (zBack, _) = flow.transform(tape.constant(y), context: tape.constant(repeated))
            for i in 0..<z.count { XCTAssertEqual(zBack.value.storage[i], z.storage[i], accuracy: 2e-4) }
            // Same seed, same samples.
            var again = RandomSource(seed: 5)
            XCTAssertEqual(flow.sample(25, context: context, rng: &again), y)
        }
        for config in configurations(features: 3, context: 2) {
            var rng = RandomSource(seed: 13)
            let flow = ConditionalFlow<Double>(configuration: config, rng: &rng)
            perturb(flow.parameters, seed: 14, scale: 0.1)
            // A z-scoring that is not the identity, so its log-determinant counts too.
            flow.featureStandardization = Standardization(mean: Matrix(rows: 1, cols: 3, repeating: 0.5),
                                                          standardDeviation: Matrix([[2, 0.5, 1.5]]))
            let context: Matrix<Double> = rng.normalMatrix(rows: 2, cols: 2)
            var sampleRng = RandomSource(seed: 6)
            let y = flow.sample(10, context: context, rng: &sampleRng)
            var zRng = RandomSource(seed: 6)
            let z: Matrix<Double> = zRng.normalMatrix(rows: 20, cols: 3)
            let repeated = Matrix<Double>(rows: 20, cols: 2) { i, j in context[i / 10, j] }
            let tape = Tape<Double>()
            let logProb = flow.logProb(tape.constant(y), context: tape.constant(repeated)).value
            XCTAssertEqual(logProb.rows, 20)
            for i in 0..<20 {
                let zi = (0..<3).map { z[i, $0] }
                let baseLogDensity = -0.5 * zi.map { $0 * $0 }.reduce(0, +) - 1.5 * Foundation.log(2 * Double.pi)
                let row = y.rows(at: [i]), rowContext = repeated.rows(at: [i])
                let logDet = finiteDifferenceLogAbsDeterminant(at: row) { point in
                    let t = Tape<Double>()
                    return flow.transform(t.constant(point), context: t.constant(rowContext)).0.value
                }
                XCTAssertEqual(logProb.storage[i], baseLogDensity + logDet, accuracy: 1e-5,
                               "\(config.kind) \(config.couplingMixing) sample \(i)")
            }
        }
    }

    func testLogDeterminantOfEachStepMatchesFiniteDifferenceJacobian() {
        for config in configurations(features: 3, context: 2) + configurations(features: 1, context: 2) {
            var rng = RandomSource(seed: 21)
            let flow = ConditionalFlow<Double>(configuration: config, rng: &rng)
            perturb(flow.parameters, seed: 22)
            let d = config.featureCount
            let context: Matrix<Double> = rng.normalMatrix(rows: 1, cols: 2)
            for (s, step) in flow.steps.enumerated() {
                for trial in 0..<3 {
                    let x: Matrix<Double> = rng.normalMatrix(rows: 1, cols: d).map { $0 * 1.5 }
                    let tape = Tape<Double>()
                    let c = tape.constant(context)
                    let (_, logDet) = step.forward(tape.constant(x), context: c)
                    let analytic = logDet?.value.scalar ?? 0
                    let numeric = finiteDifferenceLogAbsDeterminant(at: x) { point in
                        let t = Tape<Double>()
                        return step.forward(t.constant(point), context: t.constant(context)).0.value
                    }
                    XCTAssertEqual(analytic, numeric, accuracy: 1e-6, "\(config.kind) step \(s) trial \(trial)")
                }
            }
            // The whole flow, z-scoring included.
            flow.featureStandardization = Standardization(mean: Matrix(rows: 1, cols: d, repeating: 0.5),
                                                          standardDeviation: Matrix(rows: 1, cols: d, repeating: 2))
            let y: Matrix<Double> = rng.normalMatrix(rows: 1, cols: d)
            let tape = Tape<Double>()
            let analytic = flow.transform(tape.constant(y), context: tape.constant(context)).1.value.scalar
            let numeric = finiteDifferenceLogAbsDeterminant(at: y) { point in
                let t = Tape<Double>()
                return flow.transform(t.constant(point), context: t.constant(context)).0.value
            }
            XCTAssertEqual(analytic, numeric, accuracy: 1e-6, "\(config.kind) whole flow")
        }
    }

    func testWholeFlowLogProbGradientsMatchFiniteDifferences() {
        for config in configurations(features: 2, context: 2) {
            var rng = RandomSource(seed: 31)
            let flow = ConditionalFlow<Double>(configuration: config, rng: &rng)
            perturb(flow.parameters, seed: 32)
            let y: Matrix<Double> = rng.normalMatrix(rows: 3, cols: 2)
            let c: Matrix<Double> = rng.normalMatrix(rows: 3, cols: 2)
            checkGradients([y, c], tolerance: 1e-5) { _, v in flow.logProb(v[0], context: v[1]) }
        }
    }

    /// MAF reverses the features after every step unless told otherwise, so that no feature
    /// stays first (unconditioned) in every step; NSF's permutation mixing stays random,
    /// and a configuration's explicit choice and recorded permutations win.
    func testPermutationDefaults() throws {
        var rng = RandomSource(seed: 3)
        let maf = ConditionalFlow<Float>(configuration: .maf(features: 3, context: 2), rng: &rng)
        XCTAssertEqual(maf.configuration.permutations, Array(repeating: [2, 1, 0], count: 5))
        var random = DensityEstimatorConfiguration.maf(features: 6, context: 2)
        random.permutation = .random
        let drawn = ConditionalFlow<Float>(configuration: random, rng: &rng).configuration.permutations ?? []
        XCTAssertEqual(drawn.count, 5)
        XCTAssertNotEqual(drawn, Array(repeating: [5, 4, 3, 2, 1, 0], count: 5))
        var nsf = DensityEstimatorConfiguration.nsf(features: 6, context: 2)
        nsf.couplingMixing = .permutation
        XCTAssertEqual(nsf.resolvedPermutation, .random)
        // A saved configuration that names the permutation keeps it; one that does not takes the default.
        let saved = try JSONDecoder().decode(DensityEstimatorConfiguration.self,
                                             from: Data(#"{"kind":"maf","featureCount":2,"contextCount":1,"permutation":"random"}"#.utf8))
        XCTAssertEqual(saved.resolvedPermutation, .random)
        let plain = try JSONDecoder().decode(DensityEstimatorConfiguration.self,
                                             from: Data(#"{"kind":"maf","featureCount":2,"contextCount":1}"#.utf8))
        XCTAssertEqual(plain.resolvedPermutation, .reverse)
    }
}

final class MADETests: XCTestCase {
    /// Output k·D + i may depend on features 0..<i only: perturbing feature j ≥ i leaves it unchanged,
    /// while earlier features (and the context) do move it.
    func testOutputsAreAutoregressive() {
        for residual in [false, true] {
            for context in [0, 2] {
                var rng = RandomSource(seed: 81)
                let d = 4
                let made = MADE<Double>(features: d, context: context, hidden: 12, blocks: 2, outputsPerFeature: 3,
                                        activation: .tanh, residual: residual, rng: &rng, name: "m")
                for p in made.parameters {   // generic weights, not near-identity residual blocks
                    p.value.add(rng.normalMatrix(rows: p.value.rows, cols: p.value.cols), scaledBy: 0.3)
                }
                let y: Matrix<Double> = rng.normalMatrix(rows: 1, cols: d)
                let c: Matrix<Double> = rng.normalMatrix(rows: 1, cols: context)
                func outputs(_ y: Matrix<Double>, _ c: Matrix<Double>) -> Matrix<Double> {
                    let tape = Tape<Double>()
                    return made(tape.constant(y), context: context > 0 ? tape.constant(c) : nil).value
                }
                let base = outputs(y, c)
                for j in 0..<d {
                    var moved = y
                    moved.storage[j] += 0.5
                    let changed = outputs(moved, c)
                    for o in 0..<base.cols {
                        let feature = o % d
                        let delta = abs(changed.storage[o] - base.storage[o])
                        if j >= feature {
                            XCTAssertEqual(delta, 0, "residual \(residual), context \(context): output \(o) depends on feature \(j)")
                        } else {
                            XCTAssertGreaterThan(delta, 1e-9, "residual \(residual), context \(context): output \(o) ignores feature \(j)")
                        }
                    }
                }
                if context > 0 {
                    var movedContext = c
                    movedContext.storage[0] += 0.5
                    let changed = outputs(y, movedContext)
                    for o in 0..<base.cols {
                        XCTAssertGreaterThan(abs(changed.storage[o] - base.storage[o]), 1e-9,
                                             "residual \(residual): output \(o) ignores the context")
                    }
                }
            }
        }
    }
}
