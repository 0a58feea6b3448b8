import Foundation

/// Training and validation scores per epoch for each trained network, as kept in a
/// posterior directory's `training.json` (each member's `summary`).
///
/// ```swift
/// let curves = try TrainingCurve.read(fromTrainingFile: "posterior/training.json")
/// try TrainingCurve.plot(curves).write(to: "training.svg")
/// ```
public struct TrainingCurve: Sendable, Equatable {
    public var label: String
    public var training: [Double]
    public var validation: [Double]
    /// The epoch whose state was kept (0-based), marked on the plot.
    public var bestEpoch: Int?

    public init(label: String, training: [Double], validation: [Double], bestEpoch: Int? = nil) {
        self.label = label
        self.training = training
        self.validation = validation
        self.bestEpoch = bestEpoch
    }

    /// The curves of every member in a `training.json` (see schemas/posterior-directory.md).
    public static func read(fromTrainingFile path: String) throws -> [TrainingCurve] {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw ValidationSuiteError("could not read \(path) as JSON: \(error.localizedDescription)")
        }
        guard let members = (object as? [String: Any])?["members"] as? [[String: Any]] else {
            throw ValidationSuiteError("\(path) has no \"members\" list; it should be the training.json of a posterior directory")
        }
        return try members.enumerated().map { k, member in
            guard let summary = member["summary"] as? [String: Any],
                  let training = summary["trainingCurve"] as? [Double],
                  let validation = summary["validationCurve"] as? [Double] else {
                throw ValidationSuiteError("\(path): member \(k) has no summary.trainingCurve and summary.validationCurve")
            }
            let index = member["index"] as? Int ?? k
            // training.json counts epochs from 1 (the trainer's bestEpoch); the curve from 0.
            return TrainingCurve(label: "member \(index)", training: training, validation: validation,
                                 bestEpoch: (summary["bestEpoch"] as? Int).map { $0 - 1 })
        }
    }

    /// The axis label of the score a posterior directory's curves hold: NRE trains on a
    /// loss whose negation is a log-likelihood of the classifier's labels, NPE and NLE on
    /// the log-probability. The method is read from `training.json` or else from the
    /// `posterior.json` beside it; the log-probability when neither says.
    public static func scoreLabel(forTrainingFile path: String) -> String {
        let directory = (path as NSString).deletingLastPathComponent
        for file in [path, (directory as NSString).appendingPathComponent("posterior.json")] {
            guard let data = FileManager.default.contents(atPath: file),
                  let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                  let method = object["method"] as? String else { continue }
            return method.uppercased().hasPrefix("NRE") ? negatedLossLabel : logProbabilityLabel
        }
        return logProbabilityLabel
    }

    public static let logProbabilityLabel = "mean log-probability"
    public static let negatedLossLabel = "negated loss (nats per pair)"

    /// Score against epoch: validation solid, training dashed (lighter), one colour per network.
    /// The score axis leaves a seventh of its height free above the highest score, so that
    /// a curve that levels off at its best does not run along the frame.
    public static func plot(_ curves: [TrainingCurve], scoreLabel: String = logProbabilityLabel) -> SVGWriter {
        var svg = SVGWriter(width: 560, height: 400)
        let all = curves.flatMap { $0.training + $0.validation }.filter(\.isFinite)
        let epochs = curves.map { Swift.max($0.training.count, $0.validation.count) }.max() ?? 1
        // The first epochs of a flow can be far below the rest: start the axis at the 2% quantile.
        let low = all.isEmpty ? 0 : SampleStatistics.quantile(all, 0.02)
        let high = all.max() ?? 1
        let span = Swift.max(high - low, 1e-9)
        let frame = PlotFrame(x: 75, y: 45, width: 460, height: 300, xRange: (1, Double(Swift.max(epochs, 2))),
                              yRange: (low - 0.05 * span, high + span / 6))
        svg.open("g", ["class": "training-plot"])
        frame.drawAxes(into: &svg, xLabel: "epoch", yLabel: scoreLabel, title: "Training curves", integerXTicks: true)
        var entries: [(label: String, style: String)] = []
        for (k, curve) in curves.enumerated() {
            let color = Palette.series(k).color
            func points(_ values: [Double]) -> [(Double, Double)] {
                values.enumerated().compactMap { e, v in
                    v.isFinite ? frame.point((Double(e + 1), Swift.min(Swift.max(v, frame.yRange.low), frame.yRange.high))) : nil
                }
            }
            let validationStyle = "fill:none;stroke:\(color);stroke-width:2"
            let trainingStyle = "fill:none;stroke:\(color);stroke-width:1.2;stroke-dasharray:5 3;stroke-opacity:0.7"
            svg.polyline(points(curve.training), style: trainingStyle, className: "training-curve")
            svg.polyline(points(curve.validation), style: validationStyle, className: "validation-curve")
            if let best = curve.bestEpoch, best >= 0, best < curve.validation.count, curve.validation[best].isFinite {
                let (px, py) = frame.point((Double(best + 1), curve.validation[best]))
                svg.circle(x: px, y: py, radius: 3.5, style: "fill:#ffffff;stroke:\(color);stroke-width:1.5", className: "best-epoch")
            }
            entries.append((label: "\(curve.label) validation", style: validationStyle))
            entries.append((label: "\(curve.label) training", style: trainingStyle))
        }
        // Scores rise as training goes, so the lower right is where the curves are not.
        frame.drawLegend(into: &svg, entries: entries, right: true, bottom: true)
        svg.close()
        return svg
    }
}
