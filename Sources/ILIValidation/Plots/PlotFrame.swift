/// One panel of a figure: a pixel rectangle, the data ranges it shows, and the axes, ticks
/// and labels drawn around it.
///
/// ```swift
/// let frame = PlotFrame(x: 60, y: 30, width: 300, height: 240, xRange: (0, 1), yRange: (0, 1))
/// frame.drawAxes(into: &svg, xLabel: "credible level", yLabel: "coverage")
/// svg.polyline(points.map(frame.point), style: Palette.series(0).stroke())
/// ```
public struct PlotFrame: Sendable {
    public var x: Double
    public var y: Double
    public var width: Double
    public var height: Double
    public var xRange: (low: Double, high: Double)
    public var yRange: (low: Double, high: Double)

    public init(x: Double, y: Double, width: Double, height: Double,
                xRange: (Double, Double), yRange: (Double, Double)) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
        self.xRange = Self.widened(xRange)
        self.yRange = Self.widened(yRange)
    }

    /// A range of zero width made one unit wide, so that constant data still plots.
    static func widened(_ r: (Double, Double)) -> (low: Double, high: Double) {
        guard r.0.isFinite, r.1.isFinite else { return (0, 1) }
        return r.1 > r.0 ? (r.0, r.1) : (r.0 - 0.5, r.0 + 0.5)
    }

    public func px(_ value: Double) -> Double {
        x + (value - xRange.low) / (xRange.high - xRange.low) * width
    }

    public func py(_ value: Double) -> Double {
        y + height - (value - yRange.low) / (yRange.high - yRange.low) * height
    }

    public func point(_ p: (Double, Double)) -> (Double, Double) {
        (px(p.0), py(p.1))
    }

    /// The frame, light grid lines at the ticks, tick labels on the chosen sides, the axis
    /// labels and an optional title above. With `labelsInside`, a tick label that would
    /// reach past the frame's side (beyond its ends along the axis), or into the label
    /// before it, is left out, its tick kept: small panels placed close together (a corner
    /// plot's) then never get labels that run into each other or their neighbours'.
    public func drawAxes(into svg: inout SVGWriter, xLabel: String? = nil, yLabel: String? = nil,
                         title: String? = nil, xTicks: Bool = true, yTicks: Bool = true, grid: Bool = true,
                         tickCount: Int = 5, integerXTicks: Bool = false, labelsInside: Bool = false) {
        svg.open("g", ["class": "axes"])
        var xt = NiceTicks.positions(from: xRange.low, to: xRange.high, about: tickCount)
        let yt = NiceTicks.positions(from: yRange.low, to: yRange.high, about: tickCount)
        var xStep = NiceTicks.step(span: xRange.high - xRange.low, about: tickCount)
        // Epochs and counts: never a tick between two whole numbers.
        if integerXTicks && xStep < 1 {
            xStep = 1
            xt = Array(stride(from: xRange.low.rounded(.up), through: xRange.high, by: 1))
        }
        let yStep = NiceTicks.step(span: yRange.high - yRange.low, about: tickCount)
        if grid {
            for t in xt { svg.line(x1: px(t), y1: y, x2: px(t), y2: y + height, style: "stroke:\(Palette.grid);stroke-width:1") }
            for t in yt { svg.line(x1: x, y1: py(t), x2: x + width, y2: py(t), style: "stroke:\(Palette.grid);stroke-width:1") }
        }
        svg.rect(x: x, y: y, width: width, height: height, style: "fill:none;stroke:\(Palette.axis);stroke-width:1", className: "frame")
        if xTicks {
            var lastRight = -Double.infinity
            for t in xt {
                svg.line(x1: px(t), y1: y + height, x2: px(t), y2: y + height + 4, style: "stroke:\(Palette.axis)", className: "tick")
                let label = NiceTicks.label(t, step: xStep)
                let halfWidth = Self.tickLabelWidth(label) / 2
                if labelsInside && (px(t) - halfWidth < x || px(t) + halfWidth > x + width || px(t) - halfWidth < lastRight + 2) {
                    continue
                }
                lastRight = px(t) + halfWidth
                svg.text(label, x: px(t), y: y + height + 15, anchor: "middle", size: 10, className: "tick-label")
            }
        }
        if yTicks {
            var lastTop = Double.infinity   // labels go up the axis
            for t in yt {
                svg.line(x1: x - 4, y1: py(t), x2: x, y2: py(t), style: "stroke:\(Palette.axis)", className: "tick")
                let half = Self.tickLabelHalfHeight
                if labelsInside && (py(t) - half < y || py(t) + half > y + height || py(t) + half > lastTop - 2) { continue }
                lastTop = py(t) - half
                svg.text(NiceTicks.label(t, step: yStep), x: x - 6, y: py(t) + 3.5, anchor: "end", size: 10, className: "tick-label")
            }
        }
        if let xLabel {
            svg.text(xLabel, x: x + width / 2, y: y + height + (xTicks ? 32 : 16), anchor: "middle", size: 12, className: "axis-label")
        }
        if let yLabel {
            let lx = x - (yTicks ? 42 : 12)
            svg.text(yLabel, x: lx, y: y + height / 2, anchor: "middle", size: 12, rotate: -90, className: "axis-label")
        }
        if let title {
            svg.text(title, x: x + width / 2, y: y - 8, anchor: "middle", size: 13, style: "fill:#111;font-weight:bold", className: "title")
        }
        svg.close()
    }

    /// The width a 10-point tick label takes, estimated at 6 pixels a character (digits,
    /// signs and points of a sans-serif face are narrower).
    public static func tickLabelWidth(_ label: String) -> Double { 6 * Double(label.count) }

    /// Half the height of a 10-point tick label around its tick.
    public static let tickLabelHalfHeight = 5.0

    /// A legend box in a corner of the panel (top left unless told otherwise): a line sample and a label per entry.
    public func drawLegend(into svg: inout SVGWriter, entries: [(label: String, style: String)], right: Bool = false,
                           bottom: Bool = false) {
        guard !entries.isEmpty else { return }
        let rowHeight = 15.0
        let boxWidth = 30 + Double(entries.map(\.label.count).max() ?? 0) * 6.5
        let boxHeight = Double(entries.count) * rowHeight + 8
        let left = right ? x + width - boxWidth - 8 : x + 8
        let top = bottom ? y + height - boxHeight - 8 : y + 8
        svg.open("g", ["class": "legend"])
        svg.rect(x: left, y: top, width: boxWidth, height: boxHeight, style: "fill:#ffffff;fill-opacity:0.85;stroke:#bbbbbb")
        for (k, entry) in entries.enumerated() {
            let cy = top + 4 + rowHeight * (Double(k) + 0.5)
            svg.line(x1: left + 6, y1: cy, x2: left + 24, y2: cy, style: entry.style)
            svg.text(entry.label, x: left + 28, y: cy + 3.5, size: 10, className: "legend-label")
        }
        svg.close()
    }
}
