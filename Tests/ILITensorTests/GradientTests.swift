import ILITensor
import XCTest

/// Every tape operation against central finite differences in Double, on odd shapes.
final class GradientTests: XCTestCase {
    let a75 = randomMatrix(7, 5, seed: 1)
    let b75 = randomMatrix(7, 5, seed: 2)

    // MARK: Arithmetic and broadcasting

    func testAddSubtractMultiplyDivideSameShape() {
        let d = awayFromZero(7, 5, seed: 3)
        assertGradientsMatchFiniteDifferences([a75, b75]) { _, v in v[0] + v[1] }
        assertGradientsMatchFiniteDifferences([a75, b75]) { _, v in v[0] - v[1] }
        assertGradientsMatchFiniteDifferences([a75, b75]) { _, v in v[0] * v[1] }
        assertGradientsMatchFiniteDifferences([a75, d]) { _, v in v[0] / v[1] }
    }

    func testBroadcastingRowColumnAndScalarOperandsOnEitherSide() {
        let shapes = [(1, 5), (7, 1), (1, 1)]
        for (seed, (r, c)) in shapes.enumerated() {
            let small = randomMatrix(r, c, seed: UInt64(10 + seed))
            let smallNonZero = awayFromZero(r, c, seed: UInt64(20 + seed))
            assertGradientsMatchFiniteDifferences([a75, small]) { _, v in v[0] + v[1] }
            assertGradientsMatchFiniteDifferences([small, a75]) { _, v in v[0] + v[1] }
            assertGradientsMatchFiniteDifferences([a75, small]) { _, v in v[0] - v[1] }
            assertGradientsMatchFiniteDifferences([small, a75]) { _, v in v[0] - v[1] }
            assertGradientsMatchFiniteDifferences([a75, small]) { _, v in v[0] * v[1] }
            assertGradientsMatchFiniteDifferences([small, a75]) { _, v in v[0] * v[1] }
            assertGradientsMatchFiniteDifferences([a75, smallNonZero]) { _, v in v[0] / v[1] }
            assertGradientsMatchFiniteDifferences([small, awayFromZero(7, 5, seed: 4)]) { _, v in v[0] / v[1] }
        }
        // A row against a column broadcasts both ways at once.
        assertGradientsMatchFiniteDifferences([randomMatrix(1, 5, seed: 5), randomMatrix(7, 1, seed: 6)]) { _, v in v[0] * v[1] }
    }

    func testBroadcastShapesAndValues() {
        let t = Tape<Double>()
        let y = t.constant(Matrix([[1, 2, 3], [4, 5, 6]])) + t.constant(Matrix([[10, 20, 30]]))
        XCTAssertEqual(y.value, Matrix([[11, 22, 33], [14, 25, 36]]))
        let z = t.constant(Matrix([[1, 2, 3], [4, 5, 6]])) * t.constant(Matrix([[2], [3]]))
        XCTAssertEqual(z.value, Matrix([[2, 4, 6], [12, 15, 18]]))
    }

    func testNegationAndScalarArithmetic() {
        assertGradientsMatchFiniteDifferences([a75]) { _, v in -v[0] }
        assertGradientsMatchFiniteDifferences([a75]) { _, v in v[0] + 1.5 }
        assertGradientsMatchFiniteDifferences([a75]) { _, v in 2.5 - v[0] }
        assertGradientsMatchFiniteDifferences([a75]) { _, v in v[0] * -3 }
        assertGradientsMatchFiniteDifferences([a75]) { _, v in v[0] / 4 }
    }

    // MARK: Element-wise functions

    func testElementwiseFunctions() {
        let positive = randomMatrix(7, 5, seed: 7, low: 0.2, high: 3)
        let kinkFree = awayFromZero(7, 5, seed: 8)
        assertGradientsMatchFiniteDifferences([a75]) { _, v in v[0].exp() }
        assertGradientsMatchFiniteDifferences([positive]) { _, v in v[0].log() }
        assertGradientsMatchFiniteDifferences([a75]) { _, v in v[0].tanh() }
        assertGradientsMatchFiniteDifferences([kinkFree]) { _, v in v[0].relu() }
        assertGradientsMatchFiniteDifferences([kinkFree]) { _, v in v[0].elu() }
        assertGradientsMatchFiniteDifferences([kinkFree]) { _, v in v[0].elu(alpha: 0.7) }
        assertGradientsMatchFiniteDifferences([a75]) { _, v in v[0].silu() }
        assertGradientsMatchFiniteDifferences([a75]) { _, v in v[0].gelu() }
        assertGradientsMatchFiniteDifferences([a75]) { _, v in v[0].sigmoid() }
        assertGradientsMatchFiniteDifferences([a75]) { _, v in v[0].logSigmoid() }
        assertGradientsMatchFiniteDifferences([a75]) { _, v in v[0].softplus() }
        assertGradientsMatchFiniteDifferences([a75]) { _, v in v[0].square() }
        assertGradientsMatchFiniteDifferences([positive]) { _, v in v[0].sqrt() }
        assertGradientsMatchFiniteDifferences([kinkFree]) { _, v in v[0].abs() }
    }

    func testStableFunctionsAtExtremes() {
        let t = Tape<Float>()
        let x = t.constant(Matrix(rows: 1, cols: 4, [-200, -30, 30, 200]))
        let sp = x.softplus().value.storage
        XCTAssertEqual(sp[0], 0, accuracy: 1e-30)
        XCTAssertEqual(sp[3], 200, accuracy: 1e-4)
        let ls = x.logSigmoid().value.storage
        XCTAssertEqual(ls[0], -200, accuracy: 1e-4)
        XCTAssertTrue(ls.allSatisfy(\.isFinite))
        XCTAssertTrue(x.sigmoid().value.storage.allSatisfy { $0 >= 0 && $0 <= 1 })
        let lse = t.constant(Matrix(rows: 1, cols: 3, [1000, 1000, 1000])).logSumExpEachRow().value.scalar
        XCTAssertEqual(lse, 1000 + Float.log(3), accuracy: 1e-3)
    }

    // MARK: Reductions

    func testReductions() {
        assertGradientsMatchFiniteDifferences([a75]) { _, v in v[0].sum() }
        assertGradientsMatchFiniteDifferences([a75]) { _, v in v[0].mean() }
        assertGradientsMatchFiniteDifferences([a75]) { _, v in v[0].sumEachRow() }
        assertGradientsMatchFiniteDifferences([a75]) { _, v in v[0].sumEachColumn() }
        assertGradientsMatchFiniteDifferences([a75]) { _, v in v[0].meanEachRow() }
        assertGradientsMatchFiniteDifferences([a75]) { _, v in v[0].meanEachColumn() }
        assertGradientsMatchFiniteDifferences([a75]) { _, v in v[0].logSumExpEachRow() }
        assertGradientsMatchFiniteDifferences([a75]) { _, v in v[0].softmaxEachRow() }
        assertGradientsMatchFiniteDifferences([a75]) { _, v in v[0].logSoftmaxEachRow() }
    }

    func testReductionValues() {
        let t = Tape<Double>()
        let x = t.constant(Matrix([[1, 2, 3], [4, 5, 6]]))
        XCTAssertEqual(x.sum().value.scalar, 21)
        XCTAssertEqual(x.mean().value.scalar, 3.5)
        XCTAssertEqual(x.sumEachRow().value, Matrix([[6], [15]]))
        XCTAssertEqual(x.sumEachColumn().value, Matrix([[5, 7, 9]]))
        XCTAssertEqual(x.meanEachColumn().value, Matrix([[2.5, 3.5, 4.5]]))
        let softmax = x.softmaxEachRow().value
        XCTAssertEqual(softmax.sumEachRow().storage[0], 1, accuracy: 1e-12)
        XCTAssertEqual(x.logSumExpEachRow().value.storage[1], Double.log(Double.exp(4) + Double.exp(5) + Double.exp(6)), accuracy: 1e-12)
    }

    // MARK: Products

    func testMatmulWithEveryTransposeCombination() {
        let a = randomMatrix(7, 5, seed: 30), b = randomMatrix(5, 3, seed: 31)
        assertGradientsMatchFiniteDifferences([a, b]) { _, v in v[0].matmul(v[1]) }
        assertGradientsMatchFiniteDifferences([a.transposed, b]) { _, v in v[0].matmul(v[1], transposeSelf: true) }
        assertGradientsMatchFiniteDifferences([a, b.transposed]) { _, v in v[0].matmul(v[1], transposeOther: true) }
        assertGradientsMatchFiniteDifferences([a.transposed, b.transposed]) { _, v in
            v[0].matmul(v[1], transposeSelf: true, transposeOther: true)
        }
        let t = Tape<Double>()
        let p = t.constant(a).matmul(t.constant(b)).value
        var expected = 0.0
        for k in 0..<5 { expected += a[2, k] * b[k, 1] }
        XCTAssertEqual(p[2, 1], expected, accuracy: 1e-12)
    }

    func testMatmulReusingAnOperandAccumulates() {
        let a = randomMatrix(5, 5, seed: 32)
        assertGradientsMatchFiniteDifferences([a]) { _, v in v[0].matmul(v[0], transposeOther: true) }
    }

    func testLinearAndMaskedLinear() {
        let x = randomMatrix(7, 5, seed: 40), w = randomMatrix(3, 5, seed: 41), bias = randomMatrix(1, 3, seed: 42)
        assertGradientsMatchFiniteDifferences([x, w, bias]) { _, v in v[0].linear(v[1], bias: v[2]) }
        assertGradientsMatchFiniteDifferences([x, w]) { _, v in v[0].linear(v[1], bias: nil) }
        let mask = Matrix<Double>(rows: 3, cols: 5) { i, j in j <= i + 1 ? 1 : 0 }
        assertGradientsMatchFiniteDifferences([x, w, bias]) { _, v in v[0].maskedLinear(v[1], mask: mask, bias: v[2]) }

        let t = Tape<Double>()
        let y = t.constant(x).maskedLinear(t.constant(w), mask: mask, bias: t.constant(bias)).value
        var expected = bias[0, 1]
        for j in 0..<5 where mask[1, j] == 1 { expected += x[4, j] * w[1, j] }
        XCTAssertEqual(y[4, 1], expected, accuracy: 1e-12)
    }

    // MARK: Shapes

    func testSlicesConcatenationsGathersAndTranspose() {
        let c = randomMatrix(7, 2, seed: 50)
        assertGradientsMatchFiniteDifferences([a75]) { _, v in v[0].columns(1..<4) }
        assertGradientsMatchFiniteDifferences([a75]) { _, v in v[0].column(4) }
        assertGradientsMatchFiniteDifferences([a75, c]) { t, v in t.concatColumns([v[0], v[1], v[0]]) }
        assertGradientsMatchFiniteDifferences([a75, randomMatrix(2, 5, seed: 51)]) { t, v in t.concatRows([v[0], v[1]]) }
        assertGradientsMatchFiniteDifferences([a75]) { _, v in v[0].gatherColumns([4, 0, 0, 2]) }
        assertGradientsMatchFiniteDifferences([a75]) { _, v in v[0].gatherRows([6, 1, 1, 3]) }
        assertGradientsMatchFiniteDifferences([a75]) { _, v in v[0].pick(columnPerRow: [0, 4, 2, 2, 1, 3, 0]) }
        assertGradientsMatchFiniteDifferences([a75]) { _, v in v[0].transposed() }
        assertGradientsMatchFiniteDifferences([a75]) { _, v in v[0].reshaped(rows: 5, cols: 7) * v[0].reshaped(rows: 5, cols: 7).sigmoid() }

        let t = Tape<Double>()
        let x = t.constant(Matrix([[1, 2, 3], [4, 5, 6]]))
        XCTAssertEqual(x.gatherColumns([2, 0]).value, Matrix([[3, 1], [6, 4]]))
        XCTAssertEqual(x.pick(columnPerRow: [1, 2]).value, Matrix([[2], [6]]))
        XCTAssertEqual(t.concatColumns([x, x.column(0)]).value, Matrix([[1, 2, 3, 1], [4, 5, 6, 4]]))
    }

    // MARK: Compositions

    func testATwoLayerNetworkLossEndToEnd() {
        let x = randomMatrix(9, 4, seed: 60)
        let w1 = randomMatrix(6, 4, seed: 61), b1 = randomMatrix(1, 6, seed: 62)
        let w2 = randomMatrix(3, 6, seed: 63), b2 = randomMatrix(1, 3, seed: 64)
        assertGradientsMatchFiniteDifferences([x, w1, b1, w2, b2]) { _, v in
            v[0].linear(v[1], bias: v[2]).tanh().linear(v[3], bias: v[4]).logSoftmaxEachRow().pick(columnPerRow: [0, 1, 2, 0, 1, 2, 0, 1, 2]).mean()
        }
    }

    func testParametersReceiveAndAccumulateGradients() {
        var rng = RandomSource(seed: 3)
        let w = Parameter<Double>(rng.normalMatrix(rows: 2, cols: 3))
        for _ in 0..<2 {
            let t = Tape<Double>()
            let x = t.constant(Matrix([[1, 2, 3]]))
            t.backward(from: x.linear(t.read(w), bias: nil).sum())
        }
        // d/dW of sum(x Wᵀ) is x in every row; two passes accumulate twice that.
        XCTAssertEqual(w.gradient, Matrix([[2, 4, 6], [2, 4, 6]]))
        w.zeroGradient()
        XCTAssertNil(w.gradient)
    }

    /// An evaluation-only tape reads parameters as constants: the same values, nothing to
    /// back-propagate, no gradient left on the parameter; inputs still get theirs.
    func testAnEvaluationTapeReadsParametersAsConstants() {
        var rng = RandomSource(seed: 4)
        let w = Parameter<Double>(rng.normalMatrix(rows: 2, cols: 3))
        let x = Matrix<Double>([[1, 2, 3]])
        let recording = Tape<Double>(), evaluating = Tape<Double>(recordsGradients: false)
        let expected = recording.constant(x).linear(recording.read(w), bias: nil).value
        let read = evaluating.read(w)
        XCTAssertFalse(evaluating.needsGradient(read))
        let y = evaluating.constant(x).linear(read, bias: nil)
        XCTAssertEqual(y.value, expected)
        XCTAssertFalse(evaluating.needsGradient(y))
        evaluating.backward(from: y.sum())
        XCTAssertNil(w.gradient)
        let input = evaluating.input(x)
        evaluating.backward(from: input.linear(evaluating.read(w), bias: nil).sum())
        // d/dx of sum(x Wᵀ) is the column sums of W.
        XCTAssertEqual(evaluating.gradient(of: input), w.value.sumEachColumn())
        XCTAssertNil(w.gradient)
    }

    func testConstantsGetNoBackwardWork() {
        let t = Tape<Double>()
        let x = t.constant(a75)
        let y = x.tanh().exp().sum()
        t.backward(from: y)
        XCTAssertNil(t.gradient(of: x))
        XCTAssertFalse(t.needsGradient(y))
    }
}

final class TapeLifetimeTests: XCTestCase {
    /// A tape whose operations read parameters is freed when its last owner lets go,
    /// even though its backward closures refer to its variables.
    func testATapeIsFreedWithItsOwner() {
        let w = Parameter<Double>(Matrix([[1, 2], [3, 4]]))
        weak var weakTape: Tape<Double>?
        do {
            let tape = Tape<Double>()
            weakTape = tape
            let y = tape.constant(Matrix([[1, 1]])).linear(tape.read(w), bias: nil).tanh().sum()
            tape.backward(from: y)
        }
        XCTAssertNil(weakTape, "the tape leaked")
        XCTAssertNotNil(w.gradient)
    }
}
