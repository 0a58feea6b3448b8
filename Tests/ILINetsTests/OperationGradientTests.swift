import ILINets
import XCTest

final class OperationGradientTests: XCTestCase {
    func random(_ rows: Int, _ cols: Int, seed: UInt64, scale: Double = 1) -> Matrix<Double> {
        var rng = RandomSource(seed: seed)
        return rng.normalMatrix(rows: rows, cols: cols).map { $0 * scale }
    }

    func testGaussianMixtureLogDensityGradients() {
        let (m, d, k) = (4, 3, 3)
        checkGradients([random(m, d, seed: 1), random(m, k, seed: 2), random(m, k * d, seed: 3),
                        random(m, k * d, seed: 4, scale: 0.3), random(m, k * d * (d - 1) / 2, seed: 5, scale: 0.5)]) { _, v in
            gaussianMixtureLogDensity(v[0], logits: v[1], means: v[2], logDiagonal: v[3], offDiagonal: v[4])
        }
        // One dimension: no off-diagonal entries.
        checkGradients([random(m, 1, seed: 6), random(m, k, seed: 7), random(m, k, seed: 8), random(m, k, seed: 9, scale: 0.3)]) { _, v in
            gaussianMixtureLogDensity(v[0], logits: v[1], means: v[2], logDiagonal: v[3], offDiagonal: nil)
        }
    }

    func testGaussianMixtureLogDensityMatchesDirectFormula() {
        // One component, d = 2: a Gaussian with precision UᵀU.
        let y = Matrix<Double>([[0.3, -1.2]])
        let mu = Matrix<Double>([[0.1, 0.4]])
        let a = Matrix<Double>([[0.2, -0.3]])
        let u = Matrix<Double>([[0.7]])
        let tape = Tape<Double>()
        let got = gaussianMixtureLogDensity(tape.constant(y), logits: tape.constant(Matrix([[0.0]])), means: tape.constant(mu),
                                            logDiagonal: tape.constant(a), offDiagonal: tape.constant(u)).value.scalar
        let u00 = exp(0.2), u11 = exp(-0.3), u01 = 0.7
        let r0 = 0.3 - 0.1, r1 = -1.2 - 0.4
        let v0 = u00 * r0 + u01 * r1, v1 = u11 * r1
        let expected = -log(2 * Double.pi) + log(u00 * u11) - (v0 * v0 + v1 * v1) / 2
        XCTAssertEqual(got, expected, accuracy: 1e-12)
    }

    func testAutoregressiveMixtureGradients() {
        let (m, d, k) = (3, 2, 4)
        checkGradients([random(m, d, seed: 11), random(m, 3 * k * d, seed: 12, scale: 0.5)]) { _, v in
            autoregressiveMixtureLogDensity(v[0], parameters: v[1], components: k)
        }
    }

    func testAffineAutoregressiveStepGradients() {
        checkGradients([random(5, 3, seed: 21), random(5, 6, seed: 22)]) { tape, v in
            let (z, ld) = AffineAutoregressiveTransform<Double>.affine(v[0], v[1])
            return tape.concatColumns([z, ld])
        }
    }

    func testConv1DGradientsAndValues() {
        let (m, channels, length, kernel, out) = (2, 2, 9, 3, 3)
        for (stride, padding) in [(1, 0), (2, 1)] {
            checkGradients([random(m, channels * length, seed: 31), random(out, channels * kernel, seed: 32),
                            random(1, out, seed: 33)]) { _, v in
                conv1d(v[0], weight: v[1], bias: v[2], inputChannels: channels, length: length,
                       kernelSize: kernel, stride: stride, padding: padding)
            }
        }
        // Against a direct sum.
        let x = random(m, channels * length, seed: 34), w = random(out, channels * kernel, seed: 35), b = random(1, out, seed: 36)
        let tape = Tape<Double>()
        let y = conv1d(tape.constant(x), weight: tape.constant(w), bias: tape.constant(b), inputChannels: channels,
                       length: length, kernelSize: kernel, stride: 2, padding: 1).value
        let outLength = (length + 2 - kernel) / 2 + 1
        XCTAssertEqual(y.cols, out * outLength)
        for s in 0..<m {
            for o in 0..<out {
                for t in 0..<outLength {
                    var expected = b.storage[o]
                    for c in 0..<channels {
                        for k in 0..<kernel {
                            let p = t * 2 + k - 1
                            if p >= 0 && p < length { expected += w[o, c * kernel + k] * x[s, c * length + p] }
                        }
                    }
                    XCTAssertEqual(y[s, o * outLength + t], expected, accuracy: 1e-12)
                }
            }
        }
    }

    func testDenseLayerGradients() {
        var rng = RandomSource(seed: 61)
        let mask = Matrix<Double>(rows: 4, cols: 3) { _, _ in rng.uniform() < 0.6 ? 1 : 0 }
        for activation in [Activation.tanh, .relu, .identity, .elu] {
            for masked in [false, true] {
                // (Random normal inputs put no pre-activation within a step of ReLU's kink.)
                checkGradients([random(5, 3, seed: 62), random(4, 3, seed: 63), random(1, 4, seed: 64)]) { _, v in
                    denseLayer(v[0], weight: v[1], bias: v[2], mask: masked ? mask : nil, activation: activation)
                }
            }
        }
        // Against the unfused composition.
        let tape = Tape<Double>()
        let x = tape.constant(random(5, 3, seed: 65)), w = tape.constant(random(4, 3, seed: 66)), b = tape.constant(random(1, 4, seed: 67))
        XCTAssertEqual(denseLayer(x, weight: w, bias: b, mask: mask, activation: .tanh).value,
                       x.maskedLinear(w, mask: mask, bias: b).tanh().value)
    }

    func testGatedResidualGradientsAndValue() {
        checkGradients([random(4, 5, seed: 91), random(4, 5, seed: 92), random(4, 3, seed: 93), random(5, 3, seed: 94),
                        random(1, 5, seed: 95)]) { _, v in
            gatedResidual(v[0], v[1], context: v[2], weight: v[3], bias: v[4])
        }
        let tape = Tape<Double>()
        let v = [random(4, 5, seed: 96), random(4, 5, seed: 97), random(4, 3, seed: 98), random(5, 3, seed: 99),
                 random(1, 5, seed: 100)].map { tape.constant($0) }
        let fused = gatedResidual(v[0], v[1], context: v[2], weight: v[3], bias: v[4]).value
        let plain = (v[0] + v[1] * v[2].linear(v[3], bias: v[4]).sigmoid()).value
        for i in 0..<fused.count { XCTAssertEqual(fused.storage[i], plain.storage[i], accuracy: 1e-12) }
    }

    func testPoolingGradients() {
        checkGradients([random(3, 2 * 7, seed: 41)]) { _, v in pool1d(v[0], channels: 2, length: 7, size: 2, maximum: true) }
        checkGradients([random(3, 2 * 7, seed: 42)]) { _, v in pool1d(v[0], channels: 2, length: 7, size: 3, maximum: false) }
    }

    func testStandardizationGradientAndInverse() {
        var rng = RandomSource(seed: 51)
        let data: Matrix<Double> = rng.normalMatrix(rows: 50, cols: 3).map { $0 * 4 + 2 }
        let z = Standardization<Double>.fitted(to: data)
        checkGradients([random(4, 3, seed: 52)]) { _, v in z.apply(v[0]) }
        let back = z.invert(z.apply(data))
        for i in 0..<data.count { XCTAssertEqual(back.storage[i], data.storage[i], accuracy: 1e-12) }
    }
}

final class ResidualStackTests: XCTestCase {
    /// A residual network with every weight drawn at scale (so blocks are far from the
    /// identity) and parameters read as tape inputs.
    func network(inputs: Int, hidden: Int, outputs: Int, blocks: Int, activation: Activation, seed: UInt64) -> ResidualNetwork<Double> {
        var rng = RandomSource(seed: seed)
        let net = ResidualNetwork<Double>(inputs: inputs, context: 0, hidden: hidden, outputs: outputs, blocks: blocks,
                                          activation: activation, rng: &rng, name: "net")
        for p in net.parameters { p.value = rng.normalMatrix(rows: p.value.rows, cols: p.value.cols).map { $0 * 0.5 } }
        return net
    }

    /// The fused node against the same network composed of separate nodes: outputs and the
    /// gradients of every parameter and of the input, over several row tiles.
    func testFusedMatchesComposedAcrossTiles() {
        for activation in [Activation.relu, .tanh, .identity] {
            for rows in [1, 7, 256, 600] {
                let net = network(inputs: 3, hidden: 9, outputs: 2, blocks: 2, activation: activation, seed: UInt64(rows))
                var rng = RandomSource(seed: 7)
                let x: Matrix<Double> = rng.normalMatrix(rows: rows, cols: 3)
                let weights: Matrix<Double> = rng.normalMatrix(rows: rows, cols: 2)
                func run(fused: Bool) -> (Matrix<Double>, Matrix<Double>, [Matrix<Double>]) {
                    for p in net.parameters { p.zeroGradient() }
                    let tape = Tape<Double>()
                    let input = tape.input(x)
                    let y = fused ? net(input, context: nil) : net.composed(input, context: nil)
                    tape.backward(from: (y * tape.constant(weights)).sum())
                    return (y.value, tape.gradient(of: input)!, net.parameters.map { $0.gradient! })
                }
                let (yFused, gxFused, gpFused) = run(fused: true)
                let (yComposed, gxComposed, gpComposed) = run(fused: false)
                XCTAssertEqual(maxDifference(yFused, yComposed), 0, accuracy: 1e-12, "\(activation), \(rows) rows: outputs")
                XCTAssertEqual(maxDifference(gxFused, gxComposed), 0, accuracy: 1e-11, "\(activation), \(rows) rows: input gradient")
                for (k, (a, b)) in zip(gpFused, gpComposed).enumerated() {
                    XCTAssertEqual(maxDifference(a, b) / max(1, maxAbs(b)), 0, accuracy: 1e-12,
                                   "\(activation), \(rows) rows: gradient of \(net.parameters[k].name)")
                }
            }
        }
    }

    /// The Float path (OpenBLAS's single-precision kernels, vectorized loops) agrees with
    /// the composed network to single-precision rounding.
    func testFusedMatchesComposedInFloat() {
        var rng = RandomSource(seed: 12)
        let net = ResidualNetwork<Float>(inputs: 4, context: 0, hidden: 50, outputs: 1, blocks: 2, activation: .relu, rng: &rng, name: "net")
        for p in net.parameters { p.value = rng.normalMatrix(rows: p.value.rows, cols: p.value.cols).map { $0 * 0.2 } }
        let x: Matrix<Float> = rng.normalMatrix(rows: 2000, cols: 4)
        func run(fused: Bool) -> (Matrix<Float>, [Matrix<Float>]) {
            for p in net.parameters { p.zeroGradient() }
            let tape = Tape<Float>()
            let input = tape.constant(x)
            let y = fused ? net(input, context: nil) : net.composed(input, context: nil)
            tape.backward(from: y.square().mean())
            return (y.value, net.parameters.map { $0.gradient! })
        }
        let (y1, g1) = run(fused: true), (y2, g2) = run(fused: false)
        let scale = y2.storage.map(abs).max()!
        XCTAssertLessThan(zip(y1.storage, y2.storage).map { abs($0 - $1) }.max()! / scale, 1e-5)
        for (k, (a, b)) in zip(g1, g2).enumerated() {
            let bound = b.storage.map(abs).max()!
            XCTAssertLessThan(zip(a.storage, b.storage).map { abs($0 - $1) }.max()! / bound, 1e-4, net.parameters[k].name)
        }
    }

    /// Chunks add their gradient shares in chunk order, so any number of threads gives
    /// the same bits.
    func testResultsDoNotDependOnTheThreadCount() {
        var rng = RandomSource(seed: 21)
        let net = ResidualNetwork<Float>(inputs: 3, context: 0, hidden: 50, outputs: 1, blocks: 2, activation: .relu, rng: &rng, name: "net")
        let x: Matrix<Float> = rng.normalMatrix(rows: 2000, cols: 3)
        func run(threads: Int) -> [[Float]] {
            RowParallelism.withWidth(threads) {
                for p in net.parameters { p.zeroGradient() }
                let tape = Tape<Float>()
                let input = tape.input(x)
                let y = net(input, context: nil)
                tape.backward(from: y.square().mean())
                return [y.value.storage, tape.gradient(of: input)!.storage] + net.parameters.map { $0.gradient!.storage }
            }
        }
        let one = run(threads: 1)
        for threads in [2, 3] { XCTAssertEqual(run(threads: threads), one, "\(threads) threads") }
    }

    func testFusedGradientsAgainstFiniteDifferences() {
        let net = network(inputs: 2, hidden: 5, outputs: 3, blocks: 2, activation: .tanh, seed: 3)
        let params = net.parameters
        var rng = RandomSource(seed: 4)
        let x: Matrix<Double> = rng.normalMatrix(rows: 6, cols: 2)
        checkGradients([x] + params.map(\.value)) { tape, v in
            let layers = stride(from: 1, to: v.count, by: 2).map { (weight: v[$0], bias: v[$0 + 1]) }
            return residualStack(v[0], layers: layers, activation: .tanh)
        }
    }

    /// Without anything that needs a gradient the node is a constant and keeps only one
    /// tile of intermediates, with the same output.
    func testForwardOnlyMatches() {
        for activation in [Activation.relu, .tanh, .identity] {
            let net = network(inputs: 4, hidden: 6, outputs: 1, blocks: 3, activation: activation, seed: 5)
            var rng = RandomSource(seed: 6)
            let x: Matrix<Double> = rng.normalMatrix(rows: 700, cols: 4)
            let tape = Tape<Double>()
            let layers = [net.initial] + net.blocks.flatMap { [$0.first, $0.second] } + [net.final]
            let constant = residualStack(tape.constant(x), layers: layers.map { (tape.constant($0.weight.value), tape.constant($0.bias!.value)) },
                                         activation: activation)
            let composed = net.composed(tape.constant(x), context: nil)
            XCTAssertFalse(tape.needsGradient(constant))
            XCTAssertEqual(maxDifference(constant.value, composed.value), 0, accuracy: 1e-12, "\(activation)")
        }
    }

    /// No blocks: the first layer and the last, and no rows at all.
    func testNoBlocksAndNoRows() {
        var rng = RandomSource(seed: 8)
        let (w0, b0): (Matrix<Double>, Matrix<Double>) = (rng.normalMatrix(rows: 5, cols: 3), rng.normalMatrix(rows: 1, cols: 5))
        let (w1, b1): (Matrix<Double>, Matrix<Double>) = (rng.normalMatrix(rows: 2, cols: 5), rng.normalMatrix(rows: 1, cols: 2))
        let x: Matrix<Double> = rng.normalMatrix(rows: 9, cols: 3)
        checkGradients([x, w0, b0, w1, b1]) { _, v in
            residualStack(v[0], layers: [(v[1], v[2]), (v[3], v[4])], activation: .relu)
        }
        let tape = Tape<Double>()
        let y = residualStack(tape.constant(x), layers: [(tape.constant(w0), tape.constant(b0)), (tape.constant(w1), tape.constant(b1))],
                              activation: .relu)
        let expected = tape.constant(x).linear(tape.constant(w0), bias: tape.constant(b0)).linear(tape.constant(w1), bias: tape.constant(b1))
        XCTAssertEqual(maxDifference(y.value, expected.value), 0, accuracy: 1e-12)
        let empty = residualStack(tape.input(Matrix(rows: 0, cols: 3, [])),
                                  layers: [(tape.input(w0), tape.input(b0)), (tape.input(w1), tape.input(b1))], activation: .tanh)
        XCTAssertEqual(empty.rows, 0)
        tape.backward(from: empty.sum())
    }

    /// On an evaluation-only tape the weights are constants; the input still gets its
    /// gradient, the same as on a recording tape.
    func testInputGradientOnAnEvaluationTape() {
        let net = network(inputs: 3, hidden: 7, outputs: 2, blocks: 2, activation: .relu, seed: 9)
        var rng = RandomSource(seed: 10)
        let x: Matrix<Double> = rng.normalMatrix(rows: 300, cols: 3)
        func inputGradient(_ tape: Tape<Double>) -> Matrix<Double> {
            let input = tape.input(x)
            tape.backward(from: net(input, context: nil).square().sum())
            return tape.gradient(of: input)!
        }
        for p in net.parameters { p.zeroGradient() }
        let evaluated = inputGradient(Tape(recordsGradients: false))
        XCTAssertTrue(net.parameters.allSatisfy { $0.gradient == nil })
        XCTAssertEqual(maxDifference(evaluated, inputGradient(Tape())), 0, accuracy: 1e-12)
    }

    private func maxDifference(_ a: Matrix<Double>, _ b: Matrix<Double>) -> Double {
        precondition(a.rows == b.rows && a.cols == b.cols)
        return zip(a.storage, b.storage).map { abs($0 - $1) }.max() ?? 0
    }

    private func maxAbs(_ a: Matrix<Double>) -> Double { a.storage.map(abs).max() ?? 0 }
}
