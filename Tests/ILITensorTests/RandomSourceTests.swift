import ILITensor
import XCTest

final class RandomSourceTests: XCTestCase {
    func testSameSeedSameStreamDifferentSeedDifferentStream() {
        var a = RandomSource(seed: 7), b = RandomSource(seed: 7), c = RandomSource(seed: 8)
        let xa = (0..<100).map { _ in a.next() }
        XCTAssertEqual(xa, (0..<100).map { _ in b.next() })
        XCTAssertNotEqual(xa, (0..<100).map { _ in c.next() })
        var d = RandomSource(seed: 7), e = RandomSource(seed: 7)
        XCTAssertEqual(d.normalMatrix(rows: 3, cols: 3, Float.self), e.normalMatrix(rows: 3, cols: 3, Float.self))
        XCTAssertEqual(d.permutation(50), e.permutation(50))
    }

    func testTheStreamIsPinned() {
        // The first outputs for seed 0 are part of the reproducibility contract: a change
        // here changes every seeded model and sample. The literals were read off this
        // implementation (xoshiro256** seeded by SplitMix64) and must never be updated
        // to follow a change of generator.
        var r = RandomSource(seed: 0)
        XCTAssertEqual((0..<4).map { _ in r.next() },
                       [0x99EC_5F36_CB75_F2B4, 0xBF6E_1F78_4956_452A, 0x1A5F_849D_4933_E6E0, 0x6AA5_94F1_262D_2D2C])
        var n = RandomSource(seed: 0)
        let normals = (0..<4).map { _ in n.normal() }
        for (drawn, pinned) in zip(normals, [-0.01896499060631051, -1.3559302271143727, -0.40372109705088766, 0.23335097938940202]) {
            // Box–Muller goes through log, sin and cos: allow their last-ulp differences between libms.
            XCTAssertEqual(drawn, pinned, accuracy: 1e-14)
        }
        var p = RandomSource(seed: 0)
        XCTAssertEqual(p.permutation(10), [4, 2, 1, 7, 5, 6, 3, 9, 8, 0])
    }

    func testUniformMomentsAndRange() {
        var r = RandomSource(seed: 1)
        let n = 200_000
        var sum = 0.0, sumSq = 0.0
        for _ in 0..<n {
            let u = r.uniform()
            XCTAssertTrue(u >= 0 && u < 1)
            sum += u; sumSq += u * u
        }
        let mean = sum / Double(n), variance = sumSq / Double(n) - mean * mean
        // Standard errors: 0.29/√n ≈ 6.5e-4 for the mean; allow 5 of them.
        XCTAssertEqual(mean, 0.5, accuracy: 5 * 0.2887 / Double(n).squareRoot())
        XCTAssertEqual(variance, 1.0 / 12, accuracy: 2e-3)
        for _ in 0..<10_000 {
            let f: Float = r.uniform()
            XCTAssertTrue(f >= 0 && f < 1)
        }
    }

    func testNormalMomentsAndTails() {
        var r = RandomSource(seed: 2)
        let n = 200_000
        var m1 = 0.0, m2 = 0.0, m3 = 0.0, m4 = 0.0, beyond2 = 0
        for _ in 0..<n {
            let z = r.normal()
            m1 += z; m2 += z * z; m3 += z * z * z; m4 += z * z * z * z
            if abs(z) > 2 { beyond2 += 1 }
        }
        let N = Double(n)
        XCTAssertEqual(m1 / N, 0, accuracy: 5 / N.squareRoot())
        XCTAssertEqual(m2 / N, 1, accuracy: 5 * 2.0.squareRoot() / N.squareRoot())
        XCTAssertEqual(m3 / N, 0, accuracy: 5 * 15.0.squareRoot() / N.squareRoot())
        XCTAssertEqual(m4 / N, 3, accuracy: 5 * 96.0.squareRoot() / N.squareRoot())
        // P(|Z| > 2) = 0.0455
        XCTAssertEqual(Double(beyond2) / N, 0.0455, accuracy: 5 * (0.0455 * 0.9545 / N).squareRoot())
    }

    func testCategoricalFrequenciesFollowTheWeights() {
        var r = RandomSource(seed: 3)
        let weights = [0.1, 0.0, 0.6, 0.3]
        var counts = [0, 0, 0, 0]
        let n = 100_000
        for _ in 0..<n { counts[r.categorical(weights)] += 1 }
        XCTAssertEqual(counts[1], 0)
        for (w, c) in zip(weights, counts) where w > 0 {
            XCTAssertEqual(Double(c) / Double(n), w, accuracy: 5 * (w * (1 - w) / Double(n)).squareRoot())
        }
        // Unnormalised weights work the same.
        XCTAssertEqual(RandomSource(seed: 3).categoricalFirst([1, 0, 6, 3]), RandomSource(seed: 3).categoricalFirst(weights))
    }

    func testPermutationIsAPermutationAndSplitStreamsDiffer() {
        var r = RandomSource(seed: 4)
        let p = r.permutation(1000)
        XCTAssertEqual(p.sorted(), Array(0..<1000))
        XCTAssertNotEqual(p, Array(0..<1000))
        var child = r.split()
        XCTAssertNotEqual((0..<10).map { _ in child.next() }, (0..<10).map { _ in r.next() })
    }
}

private extension RandomSource {
    func categoricalFirst(_ w: [Double]) -> Int {
        var copy = self
        return copy.categorical(w)
    }
}
