import ILITensor

/// A corner plot: each parameter's 1-D histogram on the diagonal and each pair's 68% and
/// 95% highest-density contours below it, for one or several posteriors overlaid, with
/// the true parameters marked.
///
/// ```swift
/// let plot = CornerPlot(series: [.init(label: "NPE", samples: samples)],
///                       truth: [0.1, -0.3], parameterNames: ["Ωm", "σ8"])
/// try plot.render().write(to: "corner.svg")
/// ```
public struct CornerPlot: Sendable {
    public struct Series: Sendable {
        public var label: String
        public var samples: Matrix<Double>

        public init(label: String, samples: Matrix<Double>) {
            self.label = label
            self.samples = samples
        }
    }

    public var series: [Series]
    public var truth: [Double]?
    public var parameterNames: [String]
    public var histogramBins = 30
    /// Bins per axis of the 2-D histograms; nil picks about 0.6·√n (20 to 50), so that a few
    /// thousand samples still give smooth contours.
    public var contourBins: Int?
    /// The probability masses the contours enclose.
    public var contourMasses: [Double] = [0.68, 0.95]
    public var panelSize = 150.0
    public var title: String?

    public init(series: [Series], truth: [Double]? = nil, parameterNames: [String]? = nil, title: String? = nil) {
        precondition(!series.isEmpty, "a corner plot needs at least one set of samples")
        let d = series[0].samples.cols
        precondition(series.allSatisfy { $0.samples.cols == d && $0.samples.rows > 0 }, "every set of samples needs the same \(d) columns and at least one row")
        precondition(truth.map { $0.count == d } ?? true, "the truth needs \(d) values")
        self.series = series
        self.truth = truth
        self.parameterNames = parameterNames ?? (0..<d).map { "θ\($0)" }
        precondition(self.parameterNames.count == d, "\(self.parameterNames.count) parameter names for \(d) parameters")
        self.title = title
    }

    var dimension: Int { series[0].samples.cols }

    func column(_ m: Matrix<Double>, _ j: Int) -> [Double] {
        (0..<m.rows).map { m[$0, j] }.filter(\.isFinite)
    }

    /// Each parameter's shown range: the central 99% of every series and the truth, padded.
    func ranges() -> [(Double, Double)] {
        (0..<dimension).map { j in
            var low = Double.infinity, high = -Double.infinity
            for s in series {
                let values = column(s.samples, j)
                guard !values.isEmpty else { continue }
                low = Swift.min(low, SampleStatistics.quantile(values, 0.005))
                high = Swift.max(high, SampleStatistics.quantile(values, 0.995))
            }
            if let t = truth?[j], t.isFinite { low = Swift.min(low, t); high = Swift.max(high, t) }
            let r = PlotFrame.widened((low, high))
            let pad = 0.08 * (r.high - r.low)
            return (r.low - pad, r.high + pad)
        }
    }

    public func render() -> SVGWriter {
        let d = dimension
        let gap = 8.0, left = 70.0, top = title == nil ? 20.0 : 40.0, bottom = 55.0, right = 20.0
        let size = left + Double(d) * panelSize + Double(d - 1) * gap + right
        var svg = SVGWriter(width: size, height: top + Double(d) * panelSize + Double(d - 1) * gap + bottom)
        svg.open("g", ["class": "corner-plot"])
        if let title { svg.text(title, x: size / 2, y: 22, anchor: "middle", size: 14, style: "fill:#111;font-weight:bold", className: "title") }
        let ranges = ranges()
        func origin(_ row: Int, _ col: Int) -> (Double, Double) {
            (left + Double(col) * (panelSize + gap), top + Double(row) * (panelSize + gap))
        }
        for i in 0..<d {
            for j in 0...i {
                let (x, y) = origin(i, j)
                if i == j {
                    drawHistogram(j, into: &svg, x: x, y: y, range: ranges[j], showX: i == d - 1)
                } else {
                    drawPair(row: i, col: j, into: &svg, x: x, y: y, xRange: ranges[j], yRange: ranges[i],
                             showX: i == d - 1, showY: j == 0)
                }
            }
        }
        // The legend sits in the empty upper triangle, or inside the only panel.
        let entries = series.enumerated().map { (k, s) in (label: s.label, style: Palette.series(k).stroke(width: 2)) }
            + (truth == nil ? [] : [(label: "truth", style: "stroke:\(Palette.reference);stroke-width:1.5")])
        if d >= 2 {
            // Anchored on the left of the top-right panel so that long names grow into empty space.
            let (x, y) = origin(0, d - 1)
            PlotFrame(x: x, y: y, width: panelSize, height: panelSize, xRange: (0, 1), yRange: (0, 1))
                .drawLegend(into: &svg, entries: entries)
        } else if series.count > 1 || truth != nil {
            let (x, y) = origin(0, 0)
            PlotFrame(x: x, y: y, width: panelSize, height: panelSize, xRange: (0, 1), yRange: (0, 1))
                .drawLegend(into: &svg, entries: entries, right: true)
        }
        svg.close()
        return svg
    }

    func drawHistogram(_ j: Int, into svg: inout SVGWriter, x: Double, y: Double, range: (Double, Double), showX: Bool) {
        let bins = histogramBins
        let width = (range.1 - range.0) / Double(bins)
        let densities: [[Double]] = series.map { s in
            var counts = [Double](repeating: 0, count: bins)
            let values = column(s.samples, j)
            for v in values {
                let b = Int(((v - range.0) / width).rounded(.down))
                if b >= 0 && b < bins { counts[b] += 1 }
            }
            return counts.map { $0 / (Double(Swift.max(values.count, 1)) * width) }
        }
        let peak = densities.flatMap { $0 }.max() ?? 1
        let frame = PlotFrame(x: x, y: y, width: panelSize, height: panelSize, xRange: range, yRange: (0, peak > 0 ? peak * 1.08 : 1))
        svg.open("g", ["class": "histogram", "data-parameter": String(j)])
        frame.drawAxes(into: &svg, xLabel: showX ? parameterNames[j] : nil, xTicks: showX, yTicks: false, grid: false, tickCount: 4,
                       labelsInside: true)
        for (k, density) in densities.enumerated() {
            var points: [(Double, Double)] = [(frame.px(range.0), frame.py(0))]
            for b in 0..<bins {
                let a = range.0 + Double(b) * width
                points.append((frame.px(a), frame.py(density[b])))
                points.append((frame.px(a + width), frame.py(density[b])))
            }
            points.append((frame.px(range.1), frame.py(0)))
            let style = Palette.series(k)
            if k == 0 { svg.polyline(points, style: style.fill(opacity: 0.15), className: "histogram-fill", closed: true) }
            svg.polyline(points, style: style.stroke(width: 1.5), className: "histogram-line")
        }
        if let t = truth?[j], t.isFinite {
            svg.line(x1: frame.px(t), y1: y, x2: frame.px(t), y2: y + panelSize,
                     style: "stroke:\(Palette.reference);stroke-width:1.5", className: "truth")
        }
        svg.close()
    }

    func drawPair(row i: Int, col j: Int, into svg: inout SVGWriter, x: Double, y: Double,
                  xRange: (Double, Double), yRange: (Double, Double), showX: Bool, showY: Bool) {
        let frame = PlotFrame(x: x, y: y, width: panelSize, height: panelSize, xRange: xRange, yRange: yRange)
        svg.open("g", ["class": "contours", "data-parameters": "\(j),\(i)"])
        frame.drawAxes(into: &svg, xLabel: showX ? parameterNames[j] : nil, yLabel: showY ? parameterNames[i] : nil,
                       xTicks: showX, yTicks: showY, grid: false, tickCount: 4, labelsInside: true)
        for (k, s) in series.enumerated() {
            let grid = DensityGrid(x: (0..<s.samples.rows).map { s.samples[$0, j] },
                                   y: (0..<s.samples.rows).map { s.samples[$0, i] },
                                   xRange: xRange, yRange: yRange,
                                   bins: contourBins ?? Swift.min(50, Swift.max(20, Int(0.6 * Double(s.samples.rows).squareRoot()))),
                                   smoothing: 1.3)
            let levels = grid.levels(enclosing: contourMasses)
            let style = Palette.series(k)
            for (mass, level) in zip(contourMasses, levels) where level.isFinite && level > 0 {
                let segments = grid.contour(at: level)
                guard !segments.isEmpty else { continue }
                let data = segments.map { a, b in
                    let (pa, pb) = (frame.point(a), frame.point(b))
                    return "M\(SVGWriter.number(pa.0)) \(SVGWriter.number(pa.1))L\(SVGWriter.number(pb.0)) \(SVGWriter.number(pb.1))"
                }.joined()
                // The inner contour is drawn heavier, so the two read apart in grey too.
                let isInner = mass == contourMasses.min()
                svg.element("path", ["class": "contour", "data-mass": SVGWriter.number(mass), "data-series": String(k), "d": data,
                                     "style": style.stroke(width: isInner ? 1.8 : 1.1, opacity: isInner ? 1 : 0.75)])
            }
        }
        if let t = truth, t[j].isFinite, t[i].isFinite {
            let (tx, ty) = frame.point((t[j], t[i]))
            svg.open("g", ["class": "truth"])
            svg.line(x1: tx, y1: y, x2: tx, y2: y + panelSize, style: "stroke:\(Palette.reference);stroke-width:1;stroke-opacity:0.7")
            svg.line(x1: x, y1: ty, x2: x + panelSize, y2: ty, style: "stroke:\(Palette.reference);stroke-width:1;stroke-opacity:0.7")
            svg.circle(x: tx, y: ty, radius: 3, style: "fill:\(Palette.reference);stroke:#ffffff;stroke-width:1")
            svg.close()
        }
        svg.close()
    }
}
