import ILITensor
import XCTest

/// Checks the gradient of `loss` with respect to `parameters` against central differences
/// in float64: backward from one tape, then each of about `perParameter` entries of every
/// parameter moved by ±1e-6 and the loss recomputed on a fresh tape. Returns how many
/// entries were checked; `label` starts every failure message.
@discardableResult
func assertGradientsMatchCentralDifferences(of parameters: [Parameter<Double>], perParameter: Int, label: String = "",
                                            loss: (Tape<Double>) -> Variable<Double>,
                                            file: StaticString = #filePath, line: UInt = #line) -> Int {
    func value() -> Double {
        let tape = Tape<Double>()
        return withExtendedLifetime(tape) { loss(tape).value.scalar }
    }
    let tape = Tape<Double>()
    // Reading the parameters onto the tape lets backward fill their gradients.
    for p in parameters { p.zeroGradient() }
    tape.backward(from: loss(tape))
    var checked = 0
    for p in parameters {
        for index in stride(from: 0, to: p.value.count, by: max(1, p.value.count / perParameter)) {
            let saved = p.value.storage[index]
            p.value.storage[index] = saved + 1e-6
            let up = value()
            p.value.storage[index] = saved - 1e-6
            let down = value()
            p.value.storage[index] = saved
            let numeric = (up - down) / 2e-6
            XCTAssertEqual(p.gradient?.storage[index] ?? 0, numeric, accuracy: 1e-6 + 1e-5 * abs(numeric),
                           "\(label)gradient of \(p.name)[\(index)]", file: file, line: line)
            checked += 1
        }
    }
    return checked
}
