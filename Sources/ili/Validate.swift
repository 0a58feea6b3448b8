import ArgumentParser
import Foundation
import ILIInference
import ILITensor
import ILIRegistry
import ILIRounds
import ILIValidation

/// `ili validate`: the calibration checks of a trained posterior on held-out simulations.
struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a posterior's calibration on held-out simulations (SBC, coverage, TARP) and write validation.json and plots.",
        discussion: """
            Draws --num-samples posterior samples for every test point (θᵢ, xᵢ) and checks that \
            the posterior is calibrated:

              sbc                 ranks of the true θ among the samples are uniform
                                  (Kolmogorov–Smirnov and chi-square, Bonferroni-corrected)
              coverage-hpd        truths fall inside the highest-density regions as often
                                  as their credible level says, within a band that holds
                                  at all levels at once
              coverage-marginal   the same for each parameter's central intervals
              tarp                the TARP coverage curve's area is as close to zero as a
                                  calibrated posterior's would be
              c2st                (with --reference) a classifier cannot tell posterior
                                  samples from the reference samples

            The verdict says which checks failed and in which direction each sees the posterior \
            off: over-confident (regions too small), under-confident (too large) or biased; \
            an overall direction only when the failed checks agree. Thresholds default to \
            the values in schemas/validation.md and can be changed below; with the defaults \
            each of the four calibration checks fails an exactly calibrated posterior at most \
            0.5% of the time, and the verdict at most 2%.

            Writes validation.json and SVG plots (SBC rank histograms, coverage, TARP, \
            predictions against truth, a corner plot at the first test point, and the \
            training curves when the posterior directory has a training.json) into the \
            posterior directory, or into --out.

            The test set needs at least 20 points (a few hundred are usual), finite values, \
            and --labels, when given, one name per parameter. NLE and NRE posteriors are \
            sampled by MCMC with the sampler saved with them unless the MCMC options below \
            override it, as for `ili sample`. A progress line is shown when standard error is \
            a terminal.

            With --registry URL, the posterior must be a registered one (trained by `ili run` or \
            `ili train --registry`, or exported from the registry): every check and the verdict \
            are stored with it, and a passing verdict marks it calibrated.

            Exit status: 0 when every check passed, 2 when the posterior is not calibrated, \
            1 when validation could not run.

            Example:
              ili validate --posterior runs/npe --theta test_theta.npy --x test_x.npy
            """
    )

    @OptionGroup var inputs: ValidateInputs
    @OptionGroup var settings: ValidateSettings
    @OptionGroup var thresholds: ValidateThresholds
    @OptionGroup(title: "MCMC (NLE and NRE posteriors)") var mcmc: SamplerOptions
    @Flag(name: .shortAndLong, help: "No progress line.") var quiet = false
    @Option(help: ArgumentHelp("Record the checks and the verdict in this registry (the posterior must be registered there).",
                               valueName: "url"))
    var registry: String?

    func run() throws {
        let archive = try PosteriorArchive.read(from: inputs.posterior)
        // Check the registry before the work, so that a wrong URL costs nothing.
        let recorder = try registry.map { url -> (Registry, PosteriorID) in
            let registry = try Registry(url: url)
            return (registry, try ValidationRecording.checkSamePosterior(archive, directory: inputs.posterior, registry: registry))
        }
        let posterior = showingWarnings(try archive.makePosterior(source: inputs.posterior))
        let theta = try ArrayFiles.rows(inputs.theta, width: posterior.thetaDimension, what: "test point", oneDimensional: .columnWhenWidthIsOne)
        let x = try ArrayFiles.rows(inputs.x, width: posterior.xDimension, what: "test point", oneDimensional: .columnWhenWidthIsOne)
        guard theta.rows == x.rows else {
            throw CommandFailure("\(inputs.theta) has \(theta.rows) test points but \(inputs.x) has \(x.rows); give one x row per θ row")
        }
        guard theta.rows >= ValidationSuite.minimumTestPoints else {
            throw CommandFailure("\(inputs.theta) holds \(theta.rows) test point\(theta.rows == 1 ? "" : "s"); validation needs at least \(ValidationSuite.minimumTestPoints) held-out simulations to judge calibration (a few hundred are usual)")
        }
        if !settings.labels.isEmpty && settings.labels.count != posterior.thetaDimension {
            throw CommandFailure("\(settings.labels.count) --labels for a posterior of \(posterior.thetaDimension) parameters; give one name per parameter, in order")
        }
        var reference: Matrix<Double>?
        var observation: Matrix<Double>?
        if let path = inputs.reference, let observationPath = inputs.observation {
            reference = try ArrayFiles.rows(path, width: posterior.thetaDimension, what: "reference sample", oneDimensional: .columnWhenWidthIsOne)
            observation = try ArrayFiles.rows(observationPath, width: posterior.xDimension, what: "observation", oneDimensional: .oneRow)
        }
        let mcmcPosterior = try mcmc.configure(posterior, path: inputs.posterior)
        // The log-probability of the truth is summarised over the test points, whose values
        // spread over nats: a 2% relative error in each point's normalisation (0.02 nats) is
        // plenty, and the rejection draws of sampling then mostly suffice for it.
        (posterior as? DirectPosterior)?.leakageRelativeError = 0.02
        var suite = ValidationSuite(samplesPerPoint: settings.numSamples, seed: settings.seed)
        suite.thresholds = thresholds.values

        let line = ProgressLine(quiet: quiet)
        let start = Date()
        var pointsDone = 0
        var warnings = SamplerWarnings(subject: "test point")
        if let mcmcPosterior {
            // Each sampling call covers the chunk of test points after those done.
            mcmcPosterior.diagnosticsObserver = { warnings.add($0, offset: pointsDone) }
            if line.enabled {
                mcmcPosterior.progress = { p in
                    line.update(String(format: "validating: %d/%d test points done; MCMC %@ %d/%d  %.1fs", pointsDone, theta.rows,
                                       p.phase.rawValue, p.step, p.totalSteps, Date().timeIntervalSince(start)))
                }
            }
        }
        line.update(String(format: "validating: 0/%d test points", theta.rows))
        var report = try suite.run(posterior: posterior, theta: theta, observations: x,
                                   reference: reference, referenceObservation: observation) { done, total in
            pointsDone = done
            line.update(String(format: "validating: %d/%d test points  %.1fs", done, total, Date().timeIntervalSince(start)))
        }
        // The corner plot's draws are not test points: their diagnostics are not counted.
        mcmcPosterior?.diagnosticsObserver = { _ in }
        var cornerRNG = RandomSource(seed: settings.seed &+ 1)
        let corner = try posterior.sample(2000, observations: x.rows(at: [0]), rng: &cornerRNG)
        line.finish()
        let directory = settings.out ?? inputs.posterior
        let files = try ValidationArtifacts.write(
            &report, theta: theta, to: directory,
            parameterNames: settings.labels.isEmpty ? nil : settings.labels, cornerSamples: corner,
            trainingFile: (inputs.posterior as NSString).appendingPathComponent("training.json"))
        print(report.verdict.rendered)
        if let (registry, id) = recorder {
            let recorded = try ValidationRecording.record(report.verdict, plots: report.plots, posterior: id, registry: registry)
            print("recorded the verdict of posterior-\(id) in \(registry.url.redacted)\(recorded.calibrated ? "; it is calibrated" : "")")
            registry.close()
        }
        if let lp = report.predictions.logProbOfTruth {
            print(String(format: "log-prob of the truth: mean %.3f, median %.3f%@", lp.mean, lp.median,
                         lp.normalized ? "" : " (unnormalised)"))
        }
        print(String(format: "%d test points × %d samples in %.1fs; wrote %@ and %d plots to %@",
                     report.testPoints, report.samplesPerPoint, Date().timeIntervalSince(start),
                     ValidationReport.fileName, files.count - 1, directory))
        if let mcmcPosterior { warnings.print(settings: mcmcPosterior.sampler, detailsFile: nil) }
        if !report.verdict.passed { throw ExitCode(2) }
    }
}

struct ValidateInputs: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The posterior directory (from `ili train` or `ili registry export`).", valueName: "dir"))
    var posterior: String

    @Option(name: .long, help: ArgumentHelp("Held-out true parameters, n×d .npy.", valueName: "file"))
    var theta: String

    @Option(name: .long, help: ArgumentHelp("The data simulated at each of them, n×(width of x) .npy.", valueName: "file"))
    var x: String

    @Option(name: .long, help: ArgumentHelp("Reference samples of the true posterior at --observation, for C2ST.", valueName: "file"))
    var reference: String?

    @Option(name: .long, help: ArgumentHelp("The observation (1×width of x) the reference samples belong to.", valueName: "file"))
    var observation: String?

    func validate() throws {
        if reference != nil && observation == nil {
            throw ValidationError("--reference needs --observation, the x the reference samples are conditioned on")
        }
    }
}

struct ValidateSettings: ParsableArguments {
    @Option(name: .long, help: "Posterior samples per test point.")
    var numSamples = 1000

    @Option(name: .long, help: "The seed of every random choice (samples, TARP reference points, bootstrap).")
    var seed: UInt64 = 1

    @Option(name: .long, help: ArgumentHelp("Write validation.json and the plots here instead of the posterior directory.", valueName: "dir"))
    var out: String?

    @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp("Parameter names for the plots, one per column of θ.", valueName: "name"))
    var labels: [String] = []

    func validate() throws {
        guard numSamples >= 10 else { throw ValidationError("--num-samples must be at least 10 (1000 is usual)") }
    }
}

struct ValidateThresholds: ParsableArguments {
    @Option(name: .long, help: "SBC fails below this Bonferroni-corrected p-value.")
    var sbcMinP = CalibrationThresholds().sbcMinimumPValue

    @Option(name: .long, help: "Coverage fails when a curve leaves its band by more than this.")
    var coverageTolerance = CalibrationThresholds().coverageTolerance

    @Option(name: .long, help: "Confidence of the coverage band around the diagonal, at all levels at once.")
    var coverageBand = CalibrationThresholds().coverageBandConfidence

    @Option(name: .long, help: "TARP fails when its area is more than this many of a calibrated posterior's standard errors from 0.")
    var tarpSigmas = CalibrationThresholds().tarpStandardErrors

    @Option(name: .long, help: "C2ST fails above this accuracy (with --reference).")
    var c2stMax = CalibrationThresholds().c2stMaximumAccuracy

    var values: CalibrationThresholds {
        var t = CalibrationThresholds()
        t.sbcMinimumPValue = sbcMinP
        t.coverageTolerance = coverageTolerance
        t.coverageBandConfidence = coverageBand
        t.tarpStandardErrors = tarpSigmas
        t.c2stMaximumAccuracy = c2stMax
        return t
    }

    func validate() throws {
        guard coverageBand > 0 && coverageBand < 1 else { throw ValidationError("--coverage-band must lie between 0 and 1, e.g. 0.995") }
    }
}
