import Foundation
import ILITensor

/// Writes what a validation run produced into one directory: `validation.json` and the
/// plots (SBC ranks, coverage, TARP, predictions, a corner plot at the first test point,
/// and the training curves when a `training.json` is at hand).
///
/// ```swift
/// var report = try suite.run(posterior: posterior, theta: theta, observations: x)
/// let files = try ValidationArtifacts.write(&report, theta: theta, to: "runs/npe",
///                                           cornerSamples: firstPointSamples)
/// ```
public enum ValidationArtifacts {
    public static let plotFiles = (sbc: "sbc_ranks.svg", coverage: "coverage.svg", tarp: "tarp.svg",
                                   predictions: "predictions.svg", corner: "corner_test0.svg", training: "training_curves.svg")

    /// Writes the plots and then `validation.json` (listing them); returns the paths written.
    @discardableResult
    public static func write(_ report: inout ValidationReport, theta: Matrix<Double>, to directory: String,
                             parameterNames: [String]? = nil, cornerSamples: Matrix<Double>? = nil,
                             trainingFile: String? = nil) throws -> [String] {
        var isDirectory: ObjCBool = false
        if !FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw ValidationSuiteError("could not create the output directory \(directory): \(error.localizedDescription)")
            }
        } else if !isDirectory.boolValue {
            throw ValidationSuiteError("\(directory) is a file; give a directory for the validation output")
        }
        let names = parameterNames.flatMap { $0.count == theta.cols ? $0 : nil }
        var plots: [(String, SVGWriter)] = [
            (plotFiles.sbc, CalibrationPlots.rankHistograms(report.sbc, parameterNames: names)),
            (plotFiles.coverage, CalibrationPlots.coverage(report.coverage, parameterNames: names)),
            (plotFiles.tarp, CalibrationPlots.tarp(report.tarp)),
            (plotFiles.predictions, CalibrationPlots.predictions(
                report.predictions, truth: (0..<theta.cols).map { j in (0..<theta.rows).map { theta[$0, j] } },
                parameterNames: names)),
        ]
        if let cornerSamples {
            let plot = CornerPlot(series: [.init(label: "posterior", samples: cornerSamples)],
                                  truth: theta.row(0), parameterNames: names, title: "Posterior at test point 0")
            plots.append((plotFiles.corner, plot.render()))
        }
        if let trainingFile, FileManager.default.fileExists(atPath: trainingFile) {
            // A training file without curves (e.g. from an older format) is not worth failing validation over.
            if let curves = try? TrainingCurve.read(fromTrainingFile: trainingFile), !curves.isEmpty {
                plots.append((plotFiles.training, TrainingCurve.plot(curves, scoreLabel: TrainingCurve.scoreLabel(forTrainingFile: trainingFile))))
            }
        }
        var written: [String] = []
        for (name, svg) in plots {
            let path = (directory as NSString).appendingPathComponent(name)
            try svg.write(to: path)
            written.append(path)
        }
        report.plots = plots.map(\.0)
        let reportPath = (directory as NSString).appendingPathComponent(ValidationReport.fileName)
        try report.write(to: reportPath)
        return [reportPath] + written
    }
}
