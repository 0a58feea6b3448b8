import Foundation
import ILIValidation
import XCTest

/// Every plot is well-formed XML with the parts it promises. Set ILI_PLOT_DIR to keep the
/// SVG files for a look (`rsvg-convert corner.svg -o corner.png`).
final class PlotTests: XCTestCase {
    static let report: (ValidationReport, Matrix<Double>) = {
        let task = GaussianLinear(dimension: 3)
        var rng = RandomSource(seed: 5)
        let (theta, x) = task.simulations(120, rng: &rng)
        let report = try! ValidationSuite(samplesPerPoint: 200, seed: 3)
            .run(posterior: GaussianPosterior(task: task, varianceScale: 0.5), theta: theta, observations: x)
        return (report, theta)
    }()

    func inspect(_ svg: SVGWriter, _ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> SVGInspector {
        let document = svg.document
        if let dir = ProcessInfo.processInfo.environment["ILI_PLOT_DIR"] {
            try document.write(toFile: dir + "/" + name, atomically: true, encoding: .utf8)
        }
        let inspector = try XCTUnwrap(SVGInspector.parse(document), "\(name) is not well-formed XML", file: file, line: line)
        XCTAssertEqual(inspector.elements.first?.name, "svg", file: file, line: line)
        XCTAssertEqual(inspector.elements.first?.attributes["xmlns"], "http://www.w3.org/2000/svg", file: file, line: line)
        return inspector
    }

    func testCornerPlotHasOneHistogramPerParameterAndContoursPerPair() throws {
        var rng = RandomSource(seed: 9)
        let a = Matrix<Double>(rows: 4000, cols: 3) { _, j in Double(j) + rng.normal() }
        let b = Matrix<Double>(rows: 4000, cols: 3) { i, j in 0.5 + Double(j) + 0.6 * rng.normal() + (j == 1 ? 0.3 * a[i, 0] : 0) }
        let plot = CornerPlot(series: [.init(label: "NPE", samples: a), .init(label: "reference", samples: b)],
                              truth: [0.2, 1.1, 2.3], parameterNames: ["Ωm", "σ8", "h<0>"])
        let svg = try inspect(plot.render(), "corner.svg")
        XCTAssertEqual(svg.count(class: "histogram", element: "g"), 3)
        XCTAssertEqual(svg.count(class: "contours", element: "g"), 3)
        // Two series × two masses in each of the three pair panels.
        XCTAssertEqual(svg.count(class: "contour"), 12)
        XCTAssertEqual(Set(svg.all(class: "contour").compactMap { $0.attributes["data-mass"] }), ["0.68", "0.95"])
        // One truth line per histogram and one cross-hair group per pair panel.
        XCTAssertEqual(svg.count(class: "truth"), 6)
        XCTAssertEqual(svg.count(class: "histogram-line"), 6)
        XCTAssertTrue(svg.texts.contains("h<0>"), "labels are escaped and survive parsing")
        XCTAssertTrue(svg.texts.contains("reference"))
    }

    /// The truth lines sit at the true values: each histogram's line and each pair panel's
    /// cross-hair, against the pixel positions the panels' own tick labels give those values.
    func testCornerPlotDrawsTheTruthAtTheTrueValues() throws {
        var rng = RandomSource(seed: 9)
        let samples = Matrix<Double>(rows: 3000, cols: 3) { _, j in Double(j) + rng.normal() }
        let truth = [0.2, 1.1, 2.3]
        let svg = try inspect(CornerPlot(series: [.init(label: "q", samples: samples)], truth: truth).render(), "corner-truth.svg")
        let d = 3
        // Bottom-row panels carry the x ticks of their column; left-column panels the y ticks of their row.
        func xAxis(_ j: Int) throws -> (Double) -> Double {
            let panel = j == d - 1 ? svg.group(class: "histogram", "data-parameter", "\(j)") : svg.group(class: "contours", "data-parameters", "\(j),\(d - 1)")
            return try XCTUnwrap(panel.flatMap { svg.axis(false, ofPanel: $0) }, "no x ticks for column \(j)")
        }
        func yAxis(_ i: Int) throws -> (Double) -> Double {
            try XCTUnwrap(svg.group(class: "contours", "data-parameters", "0,\(i)").flatMap { svg.axis(true, ofPanel: $0) }, "no y ticks for row \(i)")
        }
        for j in 0..<d {
            let x = try xAxis(j)(truth[j])
            let histogram = try XCTUnwrap(svg.group(class: "histogram", "data-parameter", "\(j)"))
            let line = try XCTUnwrap(svg.descendants(of: histogram).first { $0.classes.contains("truth") })
            XCTAssertEqual(try XCTUnwrap(line.number("x1")), x, accuracy: 0.02, "histogram \(j)")
            XCTAssertEqual(try XCTUnwrap(line.number("x2")), x, accuracy: 0.02, "histogram \(j) is vertical")
        }
        for i in 1..<d {
            for j in 0..<i {
                let panel = try XCTUnwrap(svg.group(class: "contours", "data-parameters", "\(j),\(i)"))
                let crossHair = svg.descendants(of: panel)
                let marker = try XCTUnwrap(crossHair.first { $0.name == "circle" && $0.parent.map { svg.elements[$0].classes.contains("truth") } == true })
                XCTAssertEqual(try XCTUnwrap(marker.number("cx")), try xAxis(j)(truth[j]), accuracy: 0.02, "panel \(j),\(i) x")
                XCTAssertEqual(try XCTUnwrap(marker.number("cy")), try yAxis(i)(truth[i]), accuracy: 0.02, "panel \(j),\(i) y")
            }
        }
    }

    func testSingleParameterCornerPlot() throws {
        var rng = RandomSource(seed: 10)
        let samples = Matrix<Double>(rows: 500, cols: 1) { _, _ in rng.normal() }
        let svg = try inspect(CornerPlot(series: [.init(label: "q", samples: samples)]).render(), "corner-1d.svg")
        XCTAssertEqual(svg.count(class: "histogram", element: "g"), 1)
        XCTAssertEqual(svg.count(class: "contours", element: "g"), 0)
    }

    func testRankHistogramsHaveOnePanelPerParameterWithBand() throws {
        let (report, _) = Self.report
        let svg = try inspect(CalibrationPlots.rankHistograms(report.sbc), "sbc.svg")
        XCTAssertEqual(svg.count(class: "rank-histogram", element: "g"), 3)
        XCTAssertEqual(svg.count(class: "band"), 3)
        XCTAssertEqual(svg.count(class: "bar"), 3 * report.sbc.bins)
    }

    /// Each bar rises from zero to its bin's count of ranks, counted here from the ranks
    /// themselves (rank r of L falls in bin ⌊r·B/(L+1)⌋), on the panel's own y axis.
    func testRankHistogramBarsAreAsHighAsTheRankCounts() throws {
        let (report, _) = Self.report
        let svg = try inspect(CalibrationPlots.rankHistograms(report.sbc), "sbc-bars.svg")
        let bins = report.sbc.bins, l = report.sbc.samplesPerPoint
        for (j, parameter) in report.sbc.parameters.enumerated() {
            var counts = [Int](repeating: 0, count: bins)
            for r in parameter.ranks { counts[r * bins / (l + 1)] += 1 }
            XCTAssertEqual(counts.reduce(0, +), 120)
            XCTAssertGreaterThan(Set(counts).count, 2, "parameter \(j): the counts should differ between bins for the test to mean something")
            let panel = try XCTUnwrap(svg.group(class: "rank-histogram", "data-parameter", "\(j)"))
            let y = try XCTUnwrap(svg.axis(true, ofPanel: panel), "panel \(j) has no y ticks")
            let bars = svg.descendants(of: panel).filter { $0.classes.contains("bar") }
                .sorted { ($0.number("x") ?? 0) < ($1.number("x") ?? 0) }
            XCTAssertEqual(bars.count, bins)
            for (b, bar) in bars.enumerated() {
                let top = try XCTUnwrap(bar.number("y")), height = try XCTUnwrap(bar.number("height"))
                XCTAssertEqual(top, y(Double(counts[b])), accuracy: 0.03, "parameter \(j), bin \(b): top")
                XCTAssertEqual(top + height, y(0), accuracy: 0.03, "parameter \(j), bin \(b): base")
            }
        }
    }

    func testCoveragePlotHasCurvesBandAndDiagonal() throws {
        let (report, _) = Self.report
        let svg = try inspect(CalibrationPlots.coverage(report.coverage), "coverage.svg")
        XCTAssertEqual(svg.count(class: "hpd"), 1)
        XCTAssertEqual(svg.count(class: "marginal"), 3)
        XCTAssertEqual(svg.count(class: "band"), 1)
        XCTAssertEqual(svg.count(class: "diagonal"), 1)
        XCTAssertEqual(svg.count(class: "coverage-point"), 19)
        // Each point at (credible level, covered fraction) on the plot's axes.
        let panel = try XCTUnwrap(svg.indices(class: "coverage-plot", element: "g").first)
        let x = try XCTUnwrap(svg.axis(false, ofPanel: panel)), y = try XCTUnwrap(svg.axis(true, ofPanel: panel))
        let points = svg.all(class: "coverage-point")
        let hpd = try XCTUnwrap(report.coverage.highestDensity)
        for (k, point) in points.enumerated() {
            XCTAssertEqual(try XCTUnwrap(point.number("cx")), x(report.coverage.levels[k]), accuracy: 0.02, "level \(k)")
            XCTAssertEqual(try XCTUnwrap(point.number("cy")), y(hpd[k]), accuracy: 0.02, "level \(k)")
        }
    }

    func testTARPPlotHasCurveAndBand() throws {
        let (report, _) = Self.report
        let svg = try inspect(CalibrationPlots.tarp(report.tarp), "tarp.svg")
        XCTAssertEqual(svg.count(class: "ecp"), 1)
        XCTAssertEqual(svg.count(class: "band"), 1)
        XCTAssertTrue(svg.texts.contains { $0.hasPrefix("TARP (area -") }, "\(svg.texts)")
    }

    func testPredictionsPlotHasAPointPerTestPointAndParameter() throws {
        let (report, theta) = Self.report
        let truth = (0..<3).map { j in (0..<theta.rows).map { theta[$0, j] } }
        let svg = try inspect(CalibrationPlots.predictions(report.predictions, truth: truth), "predictions.svg")
        XCTAssertEqual(svg.count(class: "prediction-panel", element: "g"), 3)
        XCTAssertEqual(svg.count(class: "prediction"), 3 * 120)
    }

    func testTrainingCurvesFromTrainingFile() throws {
        let json = """
            {"formatVersion": 1, "members": [
              {"index": 0, "summary": {"trainingCurve": [-3, -2, -1.5, -1.2], "validationCurve": [-3.1, -2.2, -1.7, -1.75], "bestEpoch": 3}},
              {"index": 1, "summary": {"trainingCurve": [-2.5, -1.9, -1.4], "validationCurve": [-2.6, -2.0, -1.6], "bestEpoch": 3}}
            ]}
            """
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("training-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try json.write(toFile: path, atomically: true, encoding: .utf8)
        let curves = try TrainingCurve.read(fromTrainingFile: path)
        XCTAssertEqual(curves.map(\.label), ["member 0", "member 1"])
        // training.json counts epochs from 1, as the trainer does; the curve indexes from 0.
        XCTAssertEqual(curves[0].bestEpoch, 2)
        let svg = try inspect(TrainingCurve.plot(curves), "training.svg")
        XCTAssertEqual(svg.count(class: "validation-curve"), 2)
        XCTAssertEqual(svg.count(class: "training-curve"), 2)
        XCTAssertEqual(svg.count(class: "best-epoch"), 2)
        // The kept epoch is circled where it is: epoch 3 of member 0, at its best validation score.
        let panel = try XCTUnwrap(svg.indices(class: "training-plot", element: "g").first)
        let x = try XCTUnwrap(svg.axis(false, ofPanel: panel)), y = try XCTUnwrap(svg.axis(true, ofPanel: panel))
        let circle = try XCTUnwrap(svg.all(class: "best-epoch").first)
        XCTAssertEqual(try XCTUnwrap(circle.number("cx")), x(3), accuracy: 0.02)
        XCTAssertEqual(try XCTUnwrap(circle.number("cy")), y(-1.7), accuracy: 0.02)
    }

    func testNiceTicks() {
        let ticks = NiceTicks.positions(from: 0.03, to: 0.97, about: 5)
        XCTAssertEqual(ticks.count, 4)
        for (t, expected) in zip(ticks, [0.2, 0.4, 0.6, 0.8]) { XCTAssertEqual(t, expected, accuracy: 1e-12) }
        XCTAssertEqual(NiceTicks.positions(from: -1, to: 1, about: 4), [-1, -0.5, 0, 0.5, 1])
        XCTAssertEqual(NiceTicks.label(0.30000000000000004, step: 0.1), "0.3")
        XCTAssertEqual(NiceTicks.label(-0.0, step: 0.5), "0.0")
        XCTAssertEqual(NiceTicks.label(-1e-17, step: 1), "0")
        XCTAssertEqual(NiceTicks.label(0.75, step: 0.25), "0.75")
        XCTAssertEqual(NiceTicks.label(250, step: 50), "250")
    }

    func testContourOfAConeIsACircle() {
        // Density 1 − r on a grid over [−1, 1]²: the contour at 0.5 is the circle r = 0.5.
        var points: [(Double, Double)] = []
        for i in 0..<200 { for k in 0..<200 {
            let (x, y) = (-1 + (Double(i) + 0.5) / 100, -1 + (Double(k) + 0.5) / 100)
            let r = (x * x + y * y).squareRoot()
            for _ in 0..<Int(max(0, 1 - r) * 10) { points.append((x, y)) }
        } }
        let grid = DensityGrid(x: points.map(\.0), y: points.map(\.1), xRange: (-1, 1), yRange: (-1, 1), bins: 40, smoothing: 0)
        let peak = grid.values.max()!
        let segments = grid.contour(at: peak / 2)
        XCTAssertGreaterThan(segments.count, 20)
        for (a, b) in segments {
            for p in [a, b] {
                XCTAssertEqual((p.0 * p.0 + p.1 * p.1).squareRoot(), 0.5, accuracy: 0.06)
            }
        }
    }
}

final class ValidationArtifactsTests: XCTestCase {
    func testWritesReportAndEveryPlotIntoTheDirectory() throws {
        let task = GaussianLinear(dimension: 2)
        var rng = RandomSource(seed: 21)
        let (theta, x) = task.simulations(60, rng: &rng)
        let posterior = GaussianPosterior(task: task)
        var report = try ValidationSuite(samplesPerPoint: 100, seed: 2).run(posterior: posterior, theta: theta, observations: x)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ili-artifacts-\(UUID().uuidString)/nested").path
        defer { try? FileManager.default.removeItem(atPath: (directory as NSString).deletingLastPathComponent) }
        let corner = try posterior.sample(500, observations: x.rows(at: [0]), rng: &rng)
        let files = try ValidationArtifacts.write(&report, theta: theta, to: directory, parameterNames: ["a", "b"], cornerSamples: corner)
        XCTAssertEqual(files.count, 6)
        for file in files { XCTAssertTrue(FileManager.default.fileExists(atPath: file), file) }
        let stored = try ValidationReport.read(from: directory + "/validation.json")
        XCTAssertEqual(stored.plots, ["sbc_ranks.svg", "coverage.svg", "tarp.svg", "predictions.svg", "corner_test0.svg"])
        for plot in stored.plots {
            let document = try String(contentsOfFile: directory + "/" + plot, encoding: .utf8)
            XCTAssertNotNil(SVGInspector.parse(document), plot)
        }
    }
}
