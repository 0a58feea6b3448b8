import ILINets
import XCTest

final class ClassifierAndEmbeddingTests: XCTestCase {
    /// θ ~ N(0, I₂), x | θ ~ N(θ, 0.5² I₂): the log-ratio log p(x|θ)/p(x) is known in closed form.
    func trueLogRatio(_ theta: [Float], _ x: [Float]) -> Double {
        var total = 0.0
        for i in 0..<2 {
            let t = Double(theta[i]), v = Double(x[i])
            let likelihood = -0.5 * log(2 * Double.pi * 0.25) - (v - t) * (v - t) / (2 * 0.25)
            let evidence = -0.5 * log(2 * Double.pi * 1.25) - v * v / (2 * 1.25)
            total += likelihood - evidence
        }
        return total
    }

    func testClassifiersLearnTheLogRatio() throws {
        var rng = RandomSource(seed: 4)
        let n = 4000
        let theta: Matrix<Float> = rng.normalMatrix(rows: n, cols: 2)
        let noise: Matrix<Float> = rng.normalMatrix(rows: n, cols: 2)
        let x = Matrix<Float>(rows: n, cols: 2) { i, j in theta[i, j] + 0.5 * noise[i, j] }
        for architecture in [ClassifierConfiguration.Architecture.residual, .mlp] {
            var init_ = RandomSource(seed: 5)
            let classifier = RatioClassifier<Float>(configuration: .init(architecture: architecture, parameterCount: 2, dataCount: 2),
                                                    rng: &init_)
            classifier.fitStandardization(parameters: theta, data: x)
            var adam = Adam(parameters: classifier.parameters, learningRate: 1e-3)
            var order = RandomSource(seed: 6)
            let tape = Tape<Float>()
            for _ in 0..<12 {
                let perm = order.permutation(n)
                for start in stride(from: 0, to: n, by: 100) {
                    let rows = Array(perm[start..<(start + 100)])
                    let shuffled = rows.map { perm[($0 + 1) % n] }      // θ paired with another x
                    tape.reset()
                    let t = tape.constant(theta.rows(at: rows))
                    let joint = classifier.logit(t, tape.constant(x.rows(at: rows)))
                    let marginal = classifier.logit(t, tape.constant(x.rows(at: shuffled)))
                    // Binary cross-entropy: joint pairs are class 1, shuffled pairs class 0.
                    let loss = -(joint.logSigmoid().mean() + (-marginal).logSigmoid().mean())
                    tape.backward(from: loss)
                    adam.step()
                }
            }
            // On fresh joint pairs the logit approximates the true log-ratio.
            let testTheta: Matrix<Float> = rng.normalMatrix(rows: 1000, cols: 2)
            let testNoise: Matrix<Float> = rng.normalMatrix(rows: 1000, cols: 2)
            let testX = Matrix<Float>(rows: 1000, cols: 2) { i, j in testTheta[i, j] + 0.5 * testNoise[i, j] }
            let logits = try classifier.logits(parameters: testTheta, data: testX)
            let error = mean((0..<1000).map { abs(Double(logits[$0]) - trueLogRatio(testTheta.row($0), testX.row($0))) })
            // A classifier that ignores x is off by at least 0.9 on average here (its best constant).
            XCTAssertLessThan(error, 0.3, "\(architecture): mean |logit − log r| = \(error)")
        }
    }

    func testEmbeddingConfigurationFromYAML() throws {
        let config = try EmbeddingConfiguration(yaml: """
            input_count: 64
            input_channels: 2
            layers:
              - {type: conv1d, channels: 4, kernel: 5, padding: 2, activation: relu}
              - {type: max_pool, size: 2}
              - {type: conv1d, channels: 8, kernel: 3, stride: 2}
              - {type: avg_pool, size: 3}
              - {type: flatten}
              - {type: dense, width: 16, activation: tanh}
              - {type: dense, width: 5}
            """)
        let shapes = try config.shapes()
        XCTAssertEqual(shapes.map { [$0.channels, $0.length] },
                       [[2, 32], [4, 32], [4, 16], [8, 7], [8, 2], [1, 16], [1, 16], [1, 5]])
        XCTAssertEqual(config.outputCount, 5)
        var rng = RandomSource(seed: 1)
        let net = EmbeddingNetwork<Float>(configuration: config, rng: &rng, name: "e")
        let tape = Tape<Float>()
        XCTAssertEqual(net(tape.constant(rng.normalMatrix(rows: 3, cols: 64))).value.cols, 5)
        // Mistakes name the layer and what to fix.
        XCTAssertThrowsError(try EmbeddingConfiguration(yaml: "input_count: 10\nlayers:\n  - {type: conv1d, channels: 2}")) { error in
            XCTAssertTrue("\(error)".contains("kernel"), "\(error)")
        }
        XCTAssertThrowsError(try EmbeddingConfiguration(yaml: "input_count: 10\nlayers:\n  - {type: max_pool, size: 20}"))
        XCTAssertThrowsError(try EmbeddingConfiguration(yaml: "input_count: 10\nlayers: [{type: lstm}]"))
    }

    /// y ~ N(0, I₂); c = y₀ sin(t) + y₁ cos(t) + 0.3 ε on 24 time steps. The posterior of y
    /// given the series is Gaussian and known; an MDN whose context goes through a conv1d
    /// embedding, trained jointly, has to learn to read both amplitudes from the series.
    func testConvolutionalEmbeddingTrainsJointly() throws {
        let length = 24, sigma = 0.3
        let basis = (0..<length).map { t in (sin(Double(t) * 0.5), cos(Double(t) * 0.5)) }
        func draw(_ n: Int, seed: UInt64) -> (Matrix<Float>, Matrix<Float>) {
            var rng = RandomSource(seed: seed)
            let y: Matrix<Float> = rng.normalMatrix(rows: n, cols: 2)
            let c = Matrix<Float>(rows: n, cols: length) { i, t in
                Float(Double(y[i, 0]) * basis[t].0 + Double(y[i, 1]) * basis[t].1 + sigma * rng.normal())
            }
            return (y, c)
        }
        // Posterior precision P = I + BᵀB/σ², mean P⁻¹ Bᵀc/σ².
        var btb = [[0.0, 0.0], [0.0, 0.0]]
        for b in basis { btb[0][0] += b.0 * b.0; btb[0][1] += b.0 * b.1; btb[1][1] += b.1 * b.1 }
        let p = [[1 + btb[0][0] / (sigma * sigma), btb[0][1] / (sigma * sigma)],
                 [btb[0][1] / (sigma * sigma), 1 + btb[1][1] / (sigma * sigma)]]
        let det = p[0][0] * p[1][1] - p[0][1] * p[0][1]
        func trueLogProb(_ y: [Float], _ c: [Float]) -> Double {
            var r0 = 0.0, r1 = 0.0
            for t in 0..<length { r0 += basis[t].0 * Double(c[t]); r1 += basis[t].1 * Double(c[t]) }
            r0 /= sigma * sigma; r1 /= sigma * sigma
            let m0 = (p[1][1] * r0 - p[0][1] * r1) / det, m1 = (p[0][0] * r1 - p[0][1] * r0) / det
            let d0 = Double(y[0]) - m0, d1 = Double(y[1]) - m1
            return -log(2 * Double.pi) + 0.5 * log(det) - 0.5 * (p[0][0] * d0 * d0 + 2 * p[0][1] * d0 * d1 + p[1][1] * d1 * d1)
        }
        var config = DensityEstimatorConfiguration.mdn(features: 2, context: length)
        config.componentCount = 3
        config.embedding = try EmbeddingConfiguration(yaml: """
            input_count: 24
            layers:
              - {type: conv1d, channels: 4, kernel: 5, activation: relu}
              - {type: max_pool, size: 2}
              - {type: flatten}
              - {type: dense, width: 8}
            """)
        var rng = RandomSource(seed: 7)
        let model: any ConditionalDensityEstimator<Float> = try makeDensityEstimator(config, rng: &rng)
        let embeddingWeightsBefore = model.parameters.filter { $0.name.hasPrefix("embedding") }.map(\.value)
        let (trainY, trainC) = draw(6000, seed: 8), (testY, testC) = draw(2000, seed: 9)
        fit(model, y: trainY, context: trainC, epochs: 40, learningRate: 2e-3)
        let heldOut = mean(try model.logProb(of: testY, given: testC))
        let truth = mean((0..<2000).map { trueLogProb(testY.row($0), testC.row($0)) })
        // Ignoring the series scores about −2.8 (the prior); the truth is about +2.1.
        XCTAssertGreaterThan(heldOut, truth - 0.5, "held-out \(heldOut) vs true \(truth)")
        let embeddingWeightsAfter = model.parameters.filter { $0.name.hasPrefix("embedding") }.map(\.value)
        XCTAssertNotEqual(embeddingWeightsBefore, embeddingWeightsAfter, "the embedding was not trained")
    }
}
