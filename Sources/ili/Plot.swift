import ArgumentParser
import Foundation
import ILITensor
import ILIValidation

/// `ili plot …`: SVG figures from sample files and training records.
struct PlotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plot",
        abstract: "Draw SVG figures: corner plots of samples, training curves.",
        discussion: """
            Figures are plain SVG: open them in a browser, or convert them with \
            `rsvg-convert FILE.svg -o FILE.png`. Colours differ in lightness and lines in \
            dash pattern, so the figures read in grey too. The plots of a validation run \
            are drawn by `ili validate`.
            """,
        subcommands: [PlotCorner.self, PlotTraining.self]
    )
}

/// `ili plot corner --samples S.npy [--samples T.npy …] [--truth θ.npy] [--labels …]`.
struct PlotCorner: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "corner",
        abstract: "Draw a corner plot: 1-D histograms and 68%/95% contours of posterior samples.",
        discussion: """
            Each --samples file is an n×d .npy array (float32 or float64), one sample per row. \
            Several files are overlaid, each in its own colour and dash pattern, named in the \
            legend by --legend or else by file name. --truth marks the true parameters (a .npy \
            of d values, or a 1×d array). The 2-D contours enclose 68% and 95% of the samples \
            of a smoothed 2-D histogram; the ranges show the central 99% of every file.

            Examples:
              ili plot corner --samples samples.npy --labels Ωm σ8
              ili plot corner --samples npe.npy --samples exact.npy --legend NPE exact --truth θo.npy
            """
    )

    @Option(name: .long, parsing: .singleValue, help: ArgumentHelp("A .npy file of samples (n×d); repeat to overlay.", valueName: "file"))
    var samples: [String]

    @Option(name: .long, help: ArgumentHelp("A .npy file with the true parameters (d values).", valueName: "file"))
    var truth: String?

    @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp("Parameter names, one per column.", valueName: "name"))
    var labels: [String] = []

    @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp("Legend names, one per --samples file, in order.", valueName: "name"))
    var legend: [String] = []

    @Option(name: .long, help: ArgumentHelp("The title above the plot.", valueName: "text"))
    var title: String?

    @Option(name: .long, help: ArgumentHelp("The SVG file to write.", valueName: "file"))
    var out = "corner.svg"

    func validate() throws {
        guard !samples.isEmpty else { throw ValidationError("give at least one --samples file") }
        if !legend.isEmpty && legend.count != samples.count {
            throw ValidationError("\(legend.count) --legend names for \(samples.count) --samples files; give one per file or none")
        }
    }

    func run() throws {
        let series = try samples.enumerated().map { k, path -> CornerPlot.Series in
            let name = legend.isEmpty ? ((path as NSString).lastPathComponent as NSString).deletingPathExtension : legend[k]
            return CornerPlot.Series(label: name, samples: try NPYFile.read(path).matrix(as: Double.self))
        }
        let d = series[0].samples.cols
        for (s, path) in zip(series, samples) where s.samples.cols != d || s.samples.rows == 0 {
            throw CommandFailure("\(path) is \(s.samples.shapeDescription) but \(samples[0]) has \(d) columns; every samples file needs the same parameters and at least one row")
        }
        var truthValues: [Double]?
        if let truth {
            let t = try NPYFile.read(truth).matrix(as: Double.self)
            guard t.count == d else {
                throw CommandFailure("\(truth) holds \(t.count) values but the samples have \(d) parameters")
            }
            truthValues = t.storage
        }
        if !labels.isEmpty && labels.count != d {
            throw CommandFailure("\(labels.count) --labels for \(d) parameters; give one name per column")
        }
        let plot = CornerPlot(series: series, truth: truthValues, parameterNames: labels.isEmpty ? nil : labels, title: title)
        try plot.render().write(to: out)
        print("wrote \(out) (\(d) parameters, \(series.map { "\($0.samples.rows)" }.joined(separator: " + ")) samples)")
    }
}

/// `ili plot training --training DIR/training.json`.
struct PlotTraining: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "training",
        abstract: "Draw the training and validation curves kept in a posterior directory's training.json.",
        discussion: """
            One colour per ensemble member: validation score solid, training score dashed, \
            the epoch whose state was kept circled. The score is the mean log-probability \
            per sample for NPE and NLE, and the negated loss (a log-likelihood of the \
            classifier's labels, in nats per pair) for NRE; higher is better either way.
            """
    )

    @Option(name: .long, help: ArgumentHelp("A training.json, or the posterior directory holding it.", valueName: "path"))
    var training: String

    @Option(name: .long, help: ArgumentHelp("The SVG file to write.", valueName: "file"))
    var out = "training_curves.svg"

    func run() throws {
        var isDirectory: ObjCBool = false
        let path = FileManager.default.fileExists(atPath: training, isDirectory: &isDirectory) && isDirectory.boolValue
            ? (training as NSString).appendingPathComponent("training.json") : training
        let curves = try TrainingCurve.read(fromTrainingFile: path)
        try TrainingCurve.plot(curves, scoreLabel: TrainingCurve.scoreLabel(forTrainingFile: path)).write(to: out)
        print("wrote \(out) (\(curves.count) curve\(curves.count == 1 ? "" : "s"))")
    }
}
