/// The plots of a validation run: SBC rank histograms, the coverage (P–P) plot, the TARP
/// curve and predictions against truth, each as an SVG document.
///
/// ```swift
/// try CalibrationPlots.rankHistograms(report.sbc, parameterNames: names).write(to: "sbc.svg")
/// try CalibrationPlots.coverage(report.coverage).write(to: "coverage.svg")
/// ```
public enum CalibrationPlots {
    static func names(_ given: [String]?, _ d: Int) -> [String] {
        if let given, given.count == d { return given }
        return (0..<d).map { "θ\($0)" }
    }

    /// A grid of panels, up to four per row, with room for axes.
    static func grid(count: Int, panelWidth: Double, panelHeight: Double, title: String?) -> (svg: SVGWriter, origin: (Int) -> (Double, Double)) {
        let columns = Swift.min(count, 4)
        let rows = (count + columns - 1) / columns
        let left = 62.0, top = title == nil ? 30.0 : 50.0, hGap = 70.0, vGap = 70.0
        let width = left + Double(columns) * panelWidth + Double(columns - 1) * hGap + 20
        let height = top + Double(rows) * panelHeight + Double(rows - 1) * vGap + 50
        var svg = SVGWriter(width: width, height: height)
        if let title { svg.text(title, x: width / 2, y: 24, anchor: "middle", size: 14, style: "fill:#111;font-weight:bold", className: "title") }
        return (svg, { k in (left + Double(k % columns) * (panelWidth + hGap), top + Double(k / columns) * (panelHeight + vGap)) })
    }

    /// One histogram of ranks per parameter, with the expected count and the band of ±2.576
    /// binomial standard deviations (99%) a calibrated posterior's bins fall in.
    public static func rankHistograms(_ sbc: SimulationBasedCalibration.Result, parameterNames: [String]? = nil) -> SVGWriter {
        let d = sbc.parameters.count
        let labels = names(parameterNames, d)
        var (svg, origin) = grid(count: d, panelWidth: 220, panelHeight: 160, title: "Simulation-based calibration: rank histograms")
        svg.open("g", ["class": "sbc-plot"])
        for (j, p) in sbc.parameters.enumerated() {
            let (x, y) = origin(j)
            let n = Double(p.ranks.count)
            let bands = p.expectedCounts.map { e -> (Double, Double) in
                let sd = (e * (1 - e / Swift.max(n, 1))).squareRoot()
                return (Swift.max(0, e - 2.576 * sd), e + 2.576 * sd)
            }
            let top = Swift.max(Double(p.histogram.max() ?? 1), bands.map(\.1).max() ?? 1) * 1.1
            let frame = PlotFrame(x: x, y: y, width: 220, height: 160, xRange: (0, Double(sbc.samplesPerPoint + 1)), yRange: (0, top))
            svg.open("g", ["class": "rank-histogram", "data-parameter": String(j)])
            frame.drawAxes(into: &svg, xLabel: "rank of \(labels[j])", yLabel: j % 4 == 0 ? "test points" : nil,
                           title: String(format: "%@  (KS p = %.2g)", labels[j], p.ksPValue), grid: false, tickCount: 4)
            let binWidth = Double(sbc.samplesPerPoint + 1) / Double(sbc.bins)
            var bandPoints: [(Double, Double)] = []
            for (b, band) in bands.enumerated() {
                bandPoints.append(frame.point((Double(b) * binWidth, band.1)))
                bandPoints.append(frame.point((Double(b + 1) * binWidth, band.1)))
            }
            for (b, band) in bands.enumerated().reversed() {
                bandPoints.append(frame.point((Double(b + 1) * binWidth, band.0)))
                bandPoints.append(frame.point((Double(b) * binWidth, band.0)))
            }
            svg.polyline(bandPoints, style: "fill:\(Palette.band);fill-opacity:0.3;stroke:none", className: "band", closed: true)
            for (b, count) in p.histogram.enumerated() {
                let x0 = frame.px(Double(b) * binWidth), x1 = frame.px(Double(b + 1) * binWidth)
                svg.rect(x: x0 + 0.5, y: frame.py(Double(count)), width: x1 - x0 - 1, height: frame.py(0) - frame.py(Double(count)),
                         style: "fill:\(Palette.series(0).color);fill-opacity:0.55;stroke:none", className: "bar")
            }
            var expectedPoints: [(Double, Double)] = []
            for (b, e) in p.expectedCounts.enumerated() {
                expectedPoints.append(frame.point((Double(b) * binWidth, e)))
                expectedPoints.append(frame.point((Double(b + 1) * binWidth, e)))
            }
            svg.polyline(expectedPoints, style: "fill:none;stroke:\(Palette.reference);stroke-width:1.2;stroke-dasharray:4 3", className: "expected")
            svg.close()
        }
        svg.close()
        return svg
    }

    /// Covered fraction against credible level: the highest-density curve, each parameter's
    /// central-interval curve, the diagonal and the simultaneous band of the highest-density curve.
    public static func coverage(_ c: ExpectedCoverage.Result, parameterNames: [String]? = nil) -> SVGWriter {
        var svg = SVGWriter(width: 460, height: 440)
        let frame = PlotFrame(x: 70, y: 45, width: 360, height: 340, xRange: (0, 1), yRange: (0, 1))
        svg.open("g", ["class": "coverage-plot"])
        frame.drawAxes(into: &svg, xLabel: "credible level", yLabel: "fraction of truths covered",
                       title: "Expected coverage (\(c.testPoints) test points)")
        let upper = [(0.0, 0.0)] + zip(c.levels, c.bandUpper).map { ($0, $1) } + [(1.0, 1.0)]
        let lower = [(0.0, 0.0)] + zip(c.levels, c.bandLower).map { ($0, $1) } + [(1.0, 1.0)]
        svg.polyline((upper + lower.reversed()).map(frame.point),
                     style: "fill:\(Palette.band);fill-opacity:0.3;stroke:none", className: "band", closed: true)
        svg.polyline([(0.0, 0.0), (1.0, 1.0)].map(frame.point), style: "fill:none;stroke:#555;stroke-width:1;stroke-dasharray:3 3", className: "diagonal")
        var entries: [(label: String, style: String)] = []
        let labels = names(parameterNames, c.marginal.count)
        for (j, curve) in c.marginal.enumerated() {
            let style = "fill:none;stroke:#8c8c8c;stroke-width:0.9;stroke-opacity:0.8"
            svg.polyline(([(0.0, 0.0)] + zip(c.levels, curve).map { ($0, $1) } + [(1.0, 1.0)]).map(frame.point),
                         style: style, className: "coverage-curve marginal")
            if j == 0 { entries.append((label: c.marginal.count == 1 ? "\(labels[0]) interval" : "marginal intervals", style: style)) }
        }
        if let hpd = c.highestDensity {
            let style = Palette.series(0).stroke(width: 2.2)
            svg.polyline(([(0.0, 0.0)] + zip(c.levels, hpd).map { ($0, $1) } + [(1.0, 1.0)]).map(frame.point),
                         style: style, className: "coverage-curve hpd")
            for (level, value) in zip(c.levels, hpd) {
                let (px, py) = frame.point((level, value))
                svg.circle(x: px, y: py, radius: 2.5, style: "fill:\(Palette.series(0).color)", className: "coverage-point")
            }
            entries.insert((label: "highest density", style: style), at: 0)
        }
        entries.append((label: "\(CalibrationVerdict.percent(c.bandConfidence))% simultaneous band",
                        style: "stroke:\(Palette.band);stroke-width:8;stroke-opacity:0.45"))
        frame.drawLegend(into: &svg, entries: entries)
        svg.text("below the diagonal: over-confident", x: 425, y: 375, anchor: "end", size: 10, style: "fill:#666", className: "note")
        svg.close()
        return svg
    }

    /// The TARP expected coverage probability against credibility, with a ±2 standard
    /// error bootstrap band and the area in the title.
    public static func tarp(_ t: TARP.Result) -> SVGWriter {
        var svg = SVGWriter(width: 460, height: 440)
        let frame = PlotFrame(x: 70, y: 45, width: 360, height: 340, xRange: (0, 1), yRange: (0, 1))
        svg.open("g", ["class": "tarp-plot"])
        frame.drawAxes(into: &svg, xLabel: "credibility level α", yLabel: "expected coverage",
                       title: String(format: "TARP (area %+.3f ± %.3f)", t.area, t.areaStandardError))
        let upper = t.alpha.indices.map { (t.alpha[$0], Swift.min(1, t.expectedCoverage[$0] + 2 * t.expectedCoverageStandardError[$0])) }
        let lower = t.alpha.indices.map { (t.alpha[$0], Swift.max(0, t.expectedCoverage[$0] - 2 * t.expectedCoverageStandardError[$0])) }
        svg.polyline((upper + lower.reversed()).map(frame.point),
                     style: "fill:\(Palette.series(0).color);fill-opacity:0.18;stroke:none", className: "band", closed: true)
        svg.polyline([(0.0, 0.0), (1.0, 1.0)].map(frame.point), style: "fill:none;stroke:#555;stroke-width:1;stroke-dasharray:3 3", className: "diagonal")
        let style = Palette.series(0).stroke(width: 2.2)
        svg.polyline(zip(t.alpha, t.expectedCoverage).map { frame.point(($0, $1)) }, style: style, className: "ecp")
        frame.drawLegend(into: &svg, entries: [(label: "ECP", style: style),
                                               (label: "±2 bootstrap s.e.", style: "stroke:\(Palette.series(0).color);stroke-width:8;stroke-opacity:0.25"),
                                               (label: "ideal", style: "stroke:#555;stroke-dasharray:3 3")])
        svg.close()
        return svg
    }

    /// Posterior mean with ±1 std error bars against the true value, one panel per parameter.
    public static func predictions(_ p: Predictions.Result, truth: [[Double]], parameterNames: [String]? = nil,
                                   maximumPoints: Int = 300) -> SVGWriter {
        let d = p.parameters.count
        let labels = names(parameterNames, d)
        var (svg, origin) = grid(count: d, panelWidth: 220, panelHeight: 220, title: "Posterior mean ± std against the truth")
        svg.open("g", ["class": "predictions-plot"])
        for (j, parameter) in p.parameters.enumerated() {
            let (x, y) = origin(j)
            let truths = truth[j]
            let shown = Swift.min(truths.count, maximumPoints)
            var low = Double.infinity, high = -Double.infinity
            for i in 0..<shown {
                low = Swift.min(low, truths[i], parameter.mean[i] - parameter.standardDeviation[i])
                high = Swift.max(high, truths[i], parameter.mean[i] + parameter.standardDeviation[i])
            }
            let r = PlotFrame.widened((low, high))
            let pad = 0.05 * (r.high - r.low)
            let range = (r.low - pad, r.high + pad)
            let frame = PlotFrame(x: x, y: y, width: 220, height: 220, xRange: range, yRange: range)
            svg.open("g", ["class": "prediction-panel", "data-parameter": String(j)])
            frame.drawAxes(into: &svg, xLabel: "true \(labels[j])", yLabel: j % 4 == 0 ? "posterior mean" : nil,
                           title: String(format: "%@  (RMSE %.3g, std %.3g)", labels[j], parameter.rootMeanSquareError, parameter.typicalStandardDeviation),
                           tickCount: 4)
            svg.polyline([(range.0, range.0), (range.1, range.1)].map(frame.point), style: "fill:none;stroke:#555;stroke-width:1;stroke-dasharray:3 3", className: "diagonal")
            for i in 0..<shown {
                let (px, py) = frame.point((truths[i], parameter.mean[i]))
                let s = parameter.standardDeviation[i]
                svg.line(x1: px, y1: frame.py(parameter.mean[i] - s), x2: px, y2: frame.py(parameter.mean[i] + s),
                         style: "stroke:\(Palette.series(0).color);stroke-opacity:0.35;stroke-width:1")
                svg.circle(x: px, y: py, radius: 1.8, style: "fill:\(Palette.series(0).color)", className: "prediction")
            }
            svg.close()
        }
        svg.close()
        return svg
    }
}
