import Foundation
import ILIValidation
import XCTest

/// Layout a reader notices: tick labels of neighbouring corner-plot panels must not run
/// into each other, and a training curve must not run along the top of its frame.
final class PlotLayoutTests: XCTestCase {
    /// A tick label's box as drawn at 10 points: about 6 pixels a character wide, 10 high
    /// around its tick (the baseline sits 3.5 below it).
    struct LabelBox {
        var left, right, top, bottom: Double
        var text: String
    }

    func labelBoxes(in svg: SVGInspector) -> [(box: LabelBox, frame: (x: Double, y: Double, width: Double, height: Double))] {
        var result: [(LabelBox, (Double, Double, Double, Double))] = []
        for axes in svg.indices(class: "axes", element: "g") {
            let inside = svg.descendants(of: axes)
            guard let frame = inside.first(where: { $0.classes.contains("frame") }),
                  let fx = frame.number("x"), let fy = frame.number("y"),
                  let fw = frame.number("width"), let fh = frame.number("height") else { continue }
            for label in inside where label.classes.contains("tick-label") {
                guard let x = label.number("x"), let y = label.number("y") else { continue }
                let width = 6 * Double(label.text.count)
                let anchor = label.attributes["text-anchor"] ?? "start"
                let left = anchor == "middle" ? x - width / 2 : anchor == "end" ? x - width : x
                result.append((LabelBox(left: left, right: left + width, top: y - 8.5, bottom: y + 1.5, text: label.text), (fx, fy, fw, fh)))
            }
        }
        return result
    }

    func testCornerTickLabelsStayWithinTheirPanelsAndApart() throws {
        var rng = RandomSource(seed: 8)
        // Ranges whose ticks fall near the panel edges, with labels of several characters.
        let samples = Matrix<Double>(rows: 3000, cols: 3) { _, j in
            switch j {
            case 0: return 1000 * rng.uniform(in: 0.12, 0.93)
            case 1: return rng.uniform(in: -0.0037, 0.0213)
            default: return 5 + rng.normal()
            }
        }
        let plot = CornerPlot(series: [.init(label: "posterior", samples: samples)], truth: [500, 0.01, 5],
                              parameterNames: ["a", "b", "c"])
        let svg = try XCTUnwrap(SVGInspector.parse(plot.render().document))
        let boxes = labelBoxes(in: svg)
        XCTAssertGreaterThan(boxes.count, 10)
        for (box, frame) in boxes {
            // Bottom-row labels stay within their panel's width, left-column labels within its height.
            if box.top > frame.y + frame.height {
                XCTAssertGreaterThanOrEqual(box.left, frame.x - 0.01, "\(box.text) starts left of its panel")
                XCTAssertLessThanOrEqual(box.right, frame.x + frame.width + 0.01, "\(box.text) runs past its panel")
            } else {
                XCTAssertGreaterThanOrEqual(box.top, frame.y - 0.01, "\(box.text) rises above its panel")
                XCTAssertLessThanOrEqual(box.bottom, frame.y + frame.height + 0.01, "\(box.text) sinks below its panel")
            }
        }
        for i in boxes.indices {
            for k in boxes.indices where k > i {
                let a = boxes[i].box, b = boxes[k].box
                let overlap = a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom
                XCTAssertFalse(overlap, "tick labels \(a.text) and \(b.text) overlap")
            }
        }
        // Every panel of the bottom row and left column still has at least two labelled ticks.
        for axes in svg.indices(class: "contours", element: "g") + svg.indices(class: "histogram", element: "g") {
            let labels = svg.descendants(of: axes).filter { $0.classes.contains("tick-label") }
            if !labels.isEmpty { XCTAssertGreaterThanOrEqual(labels.count, 2) }
        }
    }

    func testATrainingCurveLeavesRoomAboveItsBest() throws {
        // Rises fast and levels off at its best: the shape that ran along the top edge.
        let validation = (0..<40).map { 3 - 5 * Foundation.exp(-Double($0) / 3) }
        let training = validation.map { $0 + 0.05 }
        let svg = try XCTUnwrap(SVGInspector.parse(TrainingCurve.plot([
            TrainingCurve(label: "member 0", training: training, validation: validation, bestEpoch: 39)]).document))
        let frame = try XCTUnwrap(svg.all(class: "frame").first)
        let top = try XCTUnwrap(frame.number("y")), height = try XCTUnwrap(frame.number("height"))
        for curve in svg.all(class: "validation-curve") + svg.all(class: "training-curve") {
            let numbers = (curve.attributes["d"] ?? "").split(whereSeparator: { $0 == " " || $0 == "M" || $0 == "L" }).compactMap { Double($0) }
            let ys = stride(from: 1, to: numbers.count, by: 2).map { numbers[$0] }
            XCTAssertFalse(ys.isEmpty)
            XCTAssertGreaterThanOrEqual(ys.min() ?? 0, top + 0.1 * height, "the curve comes within a tenth of the frame's top")
        }
    }
}
