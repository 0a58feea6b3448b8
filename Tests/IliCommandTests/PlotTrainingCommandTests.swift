import Foundation
import ILITensor
import XCTest

/// `ili plot training` circles the kept epoch where it is, also when it is the last, and
/// names the score NRE plots; `ili plot corner --legend` takes several names at once.
final class PlotTrainingCommandTests: ScratchDirectoryTestCase {
    func writeTraining(method: String?) throws {
        try FileManager.default.createDirectory(atPath: path("post"), withIntermediateDirectories: true)
        try """
            {"formatVersion": 1, "members": [
              {"index": 0, "summary": {"trainingCurve": [-3, -2, -1.5, -1.2, -1.0], "validationCurve": [-3.1, -2.2, -1.7, -1.5, -1.4], "bestEpoch": 5}},
              {"index": 1, "summary": {"trainingCurve": [-2.5, -1.9, -1.4, -1.3], "validationCurve": [-2.6, -1.6, -1.8, -1.9], "bestEpoch": 2}}
            ]}
            """.write(toFile: path("post/training.json"), atomically: true, encoding: .utf8)
        if let method {
            try #"{"format": "ili-posterior", "method": "\#(method)"}"#.write(toFile: path("post/posterior.json"), atomically: true, encoding: .utf8)
        }
    }

    func numbers(_ pattern: String, in text: String) -> [[Double]] {
        let regex = try! NSRegularExpression(pattern: pattern)
        return regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).map { match in
            (1..<match.numberOfRanges).compactMap { Range(match.range(at: $0), in: text).flatMap { Double(text[$0]) } }
        }
    }

    func testTheKeptEpochIsCircledWhereItIsEvenWhenLast() throws {
        try writeTraining(method: "NPE")
        let result = try BinaryRunner.run(["plot", "training", "--training", path("post"), "--out", path("t.svg")])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        let svg = try String(contentsOfFile: path("t.svg"), encoding: .utf8)
        let frame = try XCTUnwrap(numbers(#"<rect class="frame" x="([-0-9.]+)" y="[-0-9.]+" width="([-0-9.]+)""#, in: svg).first)
        // Epochs 1…5 span the frame's width.
        func px(_ epoch: Double) -> Double { frame[0] + (epoch - 1) / 4 * frame[1] }
        let circles = numbers(#"<circle class="best-epoch" cx="([-0-9.]+)" cy="([-0-9.]+)""#, in: svg)
        XCTAssertEqual(circles.count, 2, svg)
        XCTAssertEqual(circles[0][0], px(5), accuracy: 0.02, "member 0's best is its last epoch, 5")
        XCTAssertEqual(circles[1][0], px(2), accuracy: 0.02, "member 1's best is epoch 2")
        XCTAssertTrue(svg.contains(">mean log-probability<"), svg)
    }

    func testNRECurvesAreLabelledAsTheNegatedLoss() throws {
        try writeTraining(method: "NRE")
        let result = try BinaryRunner.run(["plot", "training", "--training", path("post/training.json"), "--out", path("t.svg")])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        let svg = try String(contentsOfFile: path("t.svg"), encoding: .utf8)
        XCTAssertTrue(svg.contains(">negated loss (nats per pair)<"), svg)
        XCTAssertFalse(svg.contains("mean log-probability"), svg)
    }

    func testCornerLegendTakesSeveralNamesAtOnce() throws {
        try NPYFile.write(Matrix<Double>(rows: 200, cols: 2) { i, j in Double(i % 17) + Double(j) }, to: path("a.npy"))
        try NPYFile.write(Matrix<Double>(rows: 200, cols: 2) { i, j in Double(i % 13) - Double(j) }, to: path("b.npy"))
        let result = try BinaryRunner.run(["plot", "corner", "--samples", path("a.npy"), "--samples", path("b.npy"),
                                           "--legend", "NPE run", "exact", "--labels", "p", "q", "--out", path("c.svg")])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        let svg = try String(contentsOfFile: path("c.svg"), encoding: .utf8)
        XCTAssertTrue(svg.contains(">NPE run<") && svg.contains(">exact<"), svg)
        let wrong = try BinaryRunner.run(["plot", "corner", "--samples", path("a.npy"), "--samples", path("b.npy"),
                                          "--legend", "only-one", "--out", path("d.svg")])
        XCTAssertEqual(wrong.status, 64, wrong.stderr)
        XCTAssertTrue(wrong.stderr.contains("1 --legend names for 2 --samples files"), wrong.stderr)
    }
}
