import Foundation
import ILIInference

/// A hyperparameter search as a figure: one panel per searched key, each trial's final
/// validation score against the value it tried. Kept trials (the ensemble) are filled,
/// trials stopped early hollow, so a key whose values separate the filled points from the
/// hollow ones is a key that mattered.
///
/// ```swift
/// try SearchPlot.plot(records).write(to: "search.svg")
/// ```
public enum SearchPlot {
    /// The plot's name in a posterior or round directory, beside `search.json`.
    public static let fileName = "search.svg"

    /// The score a method's searches compare, as the axis names it: NRE's negated loss, or
    /// the held-out log-probability.
    public static func scoreLabel(for method: InferenceMethod) -> String {
        method == .nre ? TrainingCurve.negatedLossLabel : TrainingCurve.logProbabilityLabel
    }

    /// Writes a search's `search.json` and this plot of it into `directory`.
    public static func writeFiles(_ records: [HyperparameterSearch.TrialRecord], method: InferenceMethod, toDirectory directory: String) throws {
        try HyperparameterSearch.write(records, toDirectory: directory)
        try plot(records, scoreLabel: scoreLabel(for: method)).write(to: URL(fileURLWithPath: directory).appendingPathComponent(fileName).path)
    }

    /// The panels side by side, up to three a row. Trials whose score is not finite (a
    /// diverged network) sit on the bottom edge.
    public static func plot(_ records: [HyperparameterSearch.TrialRecord], scoreLabel: String = TrainingCurve.logProbabilityLabel) -> SVGWriter {
        let keys = orderedKeys(records)
        let columns = Swift.max(1, Swift.min(3, keys.count))
        let rows = Swift.max(1, (keys.count + columns - 1) / columns)
        let panelWidth = 230.0, panelHeight = 190.0
        var svg = SVGWriter(width: 70 + Double(columns) * (panelWidth + 40), height: 50 + Double(rows) * (panelHeight + 70) + 20)
        let scores = records.map(\.finalScore).filter(\.isFinite)
        let low = scores.min() ?? 0, high = scores.max() ?? 1
        let pad = Swift.max(high - low, 1e-9) * 0.08
        svg.open("g", ["class": "search-plot"])
        svg.text("Search: \(records.count) trials, \(records.filter { $0.member != nil }.count) kept (filled)",
                 x: svg.width / 2, y: 22, anchor: "middle", size: 13, style: "fill:#111;font-weight:bold", className: "title")
        for (k, key) in keys.enumerated() {
            let values = orderedValues(of: key, in: records)
            let frame = PlotFrame(x: 70 + Double(k % columns) * (panelWidth + 40), y: 50 + Double(k / columns) * (panelHeight + 70),
                                  width: panelWidth, height: panelHeight,
                                  xRange: (-0.5, Double(values.count) - 0.5), yRange: (low - pad, high + pad))
            frame.drawAxes(into: &svg, yLabel: k % columns == 0 ? scoreLabel : nil, title: key, xTicks: false, tickCount: 4)
            for (v, value) in values.enumerated() {
                svg.text(value, x: frame.px(Double(v)), y: frame.y + frame.height + 15, anchor: "middle", size: 10, className: "tick-label")
            }
            // Trials at one value spread a little sideways, in trial order, so none hides another.
            var seen: [String: Int] = [:]
            for record in records {
                guard let value = record.choices.first(where: { $0.key == key })?.value, let v = values.firstIndex(of: value) else { continue }
                let rank = seen[value, default: 0]
                seen[value] = rank + 1
                let offset = (Double(rank % 7) - 3) * 0.045
                let score = record.finalScore.isFinite ? record.finalScore : frame.yRange.low
                let (px, py) = frame.point((Double(v) + offset, score))
                let color = Palette.series(0).color
                let style = record.member != nil ? "fill:\(color);stroke:\(color);stroke-width:1.2"
                                                 : "fill:#ffffff;stroke:\(Palette.series(1).color);stroke-width:1.2"
                svg.circle(x: px, y: py, radius: 4, style: style, className: record.member != nil ? "kept-trial" : "stopped-trial")
            }
        }
        svg.close()
        return svg
    }

    /// The searched keys, in the order the trials list them.
    static func orderedKeys(_ records: [HyperparameterSearch.TrialRecord]) -> [String] {
        var keys: [String] = []
        for record in records { for choice in record.choices where !keys.contains(choice.key) { keys.append(choice.key) } }
        return keys
    }

    /// A key's values: by number when all are numbers, else in the order first tried.
    static func orderedValues(of key: String, in records: [HyperparameterSearch.TrialRecord]) -> [String] {
        var values: [String] = []
        for record in records {
            if let value = record.choices.first(where: { $0.key == key })?.value, !values.contains(value) { values.append(value) }
        }
        if values.allSatisfy({ Double($0) != nil }) { values.sort { Double($0)! < Double($1)! } }
        return values
    }
}
