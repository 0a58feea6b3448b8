import ILITensor
import XCTest

/// The Float tape (with its vectorized kernels) against the Double tape on the same inputs.
final class FloatTapeTests: XCTestCase {
    func testFloatForwardAndGradientsAgreeWithDouble() {
        let x = randomMatrix(31, 17, seed: 70, low: -4, high: 4)
        let ops: [(String, (Variable<Double>) -> Variable<Double>, (Variable<Float>) -> Variable<Float>)] = [
            ("tanh", { $0.tanh() }, { $0.tanh() }),
            ("exp", { $0.exp() }, { $0.exp() }),
            ("sigmoid", { $0.sigmoid() }, { $0.sigmoid() }),
            ("softplus", { $0.softplus() }, { $0.softplus() }),
            ("logSumExp", { $0.logSumExpEachRow() }, { $0.logSumExpEachRow() }),
            ("logSoftmax", { $0.logSoftmaxEachRow() }, { $0.logSoftmaxEachRow() }),
        ]
        for (name, fd, ff) in ops {
            let td = Tape<Double>(), tf = Tape<Float>()
            let vd = td.input(x), vf = tf.input(x.converted(to: Float.self))
            let yd = fd(vd), yf = ff(vf)
            td.backward(from: yd.square().sum())
            tf.backward(from: yf.square().sum())
            let gd = td.gradient(of: vd)!, gf = tf.gradient(of: vf)!
            for i in 0..<yd.value.count {
                let ref = yd.value.storage[i]
                XCTAssertEqual(Double(yf.value.storage[i]), ref, accuracy: 1e-5 * max(1, abs(ref)), "\(name) value")
            }
            for i in 0..<x.count {
                let ref = gd.storage[i]
                XCTAssertEqual(Double(gf.storage[i]), ref, accuracy: 1e-4 * max(1, abs(ref)), "\(name) gradient")
            }
        }
    }
}
