import Foundation
import ILIInference
import RealModule
import XCTest

final class PriorTests: XCTestCase {
    func prior(_ yaml: String) throws -> any Prior {
        try PriorSpecification.parse(ConfigNode.parse(yaml: yaml, source: "test.yaml")).makePrior(source: "test.yaml")
    }

    func assertConfigError(_ yaml: String, _ code: ConfigError.Code, mentions words: [String],
                           file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try prior(yaml)
            XCTFail("accepted: \(yaml)", file: file, line: line)
        } catch let e as ConfigError {
            XCTAssertEqual(e.code, code, "\(e)", file: file, line: line)
            for w in words { XCTAssertTrue(e.description.contains(w), "'\(w)' not in: \(e)", file: file, line: line) }
        } catch {
            XCTFail("unexpected \(error)", file: file, line: line)
        }
    }

    func testBoxUniformDensitySupportAndSamples() throws {
        let p = try prior("uniform: {low: [-1, 0], high: [1, 4]}")
        XCTAssertEqual(p.dimension, 2)
        let lp = p.logProb(Matrix([[0, 1], [0.99, 3.9], [1.5, 1], [0, -0.1]]))
        XCTAssertEqual(lp[0], -Double.log(8), accuracy: 1e-12)
        XCTAssertEqual(lp[1], -Double.log(8), accuracy: 1e-12)
        XCTAssertEqual(lp[2], -.infinity)
        XCTAssertEqual(lp[3], -.infinity)
        var rng = RandomSource(seed: 1)
        let s = p.sample(20_000, rng: &rng)
        XCTAssertTrue(p.contains(s).allSatisfy { $0 })
        let mean1 = (0..<s.rows).map { s[$0, 1] }.reduce(0, +) / Double(s.rows)
        XCTAssertEqual(mean1, 2, accuracy: 5 * 4 / 12.0.squareRoot() / 20_000.0.squareRoot())
    }

    func testNormalAndLogNormalDensitiesMatchTheFormulas() throws {
        let n = try prior("normal: {mean: [1, -2], std: [0.5, 3]}")
        let x = Matrix<Double>([[1.3, 0.7]])
        let expected = [(1.3, 1.0, 0.5), (0.7, -2.0, 3.0)].map { x, m, s in
            -0.5 * ((x - m) / s) * ((x - m) / s) - Double.log(s) - 0.5 * Double.log(2 * .pi)
        }.reduce(0, +)
        XCTAssertEqual(n.logProb(x)[0], expected, accuracy: 1e-12)

        let ln = try prior("lognormal: {mean: 0.2, std: 0.4}")
        XCTAssertEqual(ln.supportBounds, [.positive])
        let v = 1.7
        let z = (Double.log(v) - 0.2) / 0.4
        XCTAssertEqual(ln.logProb(Matrix([[v]]))[0], -0.5 * z * z - Double.log(0.4 * v) - 0.5 * Double.log(2 * .pi), accuracy: 1e-12)
        XCTAssertEqual(ln.logProb(Matrix([[-1]]))[0], -.infinity)
        // The density integrates to one (trapezoid on a fine grid).
        var integral = 0.0
        let h = 1e-3
        for k in 1..<20_000 { integral += Double.exp(ln.logProb(Matrix([[Double(k) * h]]))[0]) * h }
        XCTAssertEqual(integral, 1, accuracy: 1e-3)
    }

    func testMultivariateNormalAgainstTheClosedForm() throws {
        let p = try prior("mvnormal: {mean: [1, 2], cov: [[2, 0.6], [0.6, 1]]}")
        // log N(x; μ, Σ) = −½ (x−μ)ᵀ Σ⁻¹ (x−μ) − ½ log|Σ| − log 2π for d = 2.
        let det = 2 * 1 - 0.36
        let (dx, dy) = (0.5, -1.0)
        let quad = (1 * dx * dx - 2 * 0.6 * dx * dy + 2 * dy * dy) / det
        XCTAssertEqual(p.logProb(Matrix([[1.5, 1]]))[0], -0.5 * quad - 0.5 * Double.log(det) - Double.log(2 * .pi), accuracy: 1e-12)
        var rng = RandomSource(seed: 2)
        let s = p.sample(50_000, rng: &rng)
        var cxy = 0.0, vx = 0.0
        for i in 0..<s.rows { cxy += (s[i, 0] - 1) * (s[i, 1] - 2); vx += (s[i, 0] - 1) * (s[i, 0] - 1) }
        XCTAssertEqual(cxy / 50_000, 0.6, accuracy: 0.03)
        XCTAssertEqual(vx / 50_000, 2, accuracy: 0.06)
    }

    func testIndependentProductOfOneDimensionalPriors() throws {
        let p = try prior("independent: [{uniform: {low: 0, high: 2}}, {lognormal: {mean: 0, std: 1}}, {normal: {mean: 0, std: 1}}]")
        XCTAssertEqual(p.dimension, 3)
        XCTAssertEqual(p.supportBounds, [SupportInterval(lower: 0, upper: 2), .positive, .real])
        let lp = p.logProb(Matrix([[1, 1, 0]]))[0]
        XCTAssertEqual(lp, -Double.log(2) + (-0.5 * Double.log(2 * .pi)) + (-0.5 * Double.log(2 * .pi)), accuracy: 1e-12)
    }

    func testBadSpecificationsNameTheField() {
        assertConfigError("uniform: {low: [0, 1], high: [1, 1]}", .invalidValue, mentions: ["test.yaml", "prior.uniform", "low[1] = 1.0 is not below high[1] = 1.0"])
        assertConfigError("uniform: {low: [0, 1], high: [1]}", .invalidValue, mentions: ["low has 2 values but high has 1"])
        assertConfigError("normal: {mean: [0], std: [0]}", .invalidValue, mentions: ["prior.normal.std[0]", "positive"])
        assertConfigError("lognormal: {mean: [0, 0], std: [1, -2]}", .invalidValue, mentions: ["prior.lognormal.std[1]"])
        assertConfigError("mvnormal: {mean: [0, 0], cov: [[1, 2], [2, 1]]}", .invalidValue, mentions: ["prior.mvnormal.cov", "positive definite"])
        assertConfigError("mvnormal: {mean: [0, 0], cov: [[1, 0]]}", .invalidValue, mentions: ["must be 2×2"])
        assertConfigError("gamma: {k: 1}", .unknownKey, mentions: ["gamma", "uniform, normal"])
        assertConfigError("uniform: {low: [0], high: [1], scale: 2}", .unknownKey, mentions: ["uniform.scale"])
        assertConfigError("uniform: {low: [zero], high: [1]}", .wrongType, mentions: ["uniform.low[0]", "expected a number"])
        assertConfigError("uniform: {high: [1]}", .missingKey, mentions: ["'low'"])
        assertConfigError("independent: [{mvnormal: {mean: [0, 0], cov: [[1, 0], [0, 1]]}}]", .invalidValue, mentions: ["independent[0]", "one-dimensional"])
    }

    func testSpecificationsRoundTripThroughJSON() throws {
        let spec = PriorSpecification.independent([.uniform(low: [0], high: [1]), .logNormal(mean: [0], std: [2])])
        let data = try JSONEncoder().encode(spec)
        XCTAssertEqual(try JSONDecoder().decode(PriorSpecification.self, from: data), spec)
    }
}
