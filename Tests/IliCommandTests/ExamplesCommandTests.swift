import Foundation
import ILIRegistry
import ILITensor
import XCTest

/// The examples under examples/, ops/demo and the README's quick start, through the real
/// binary with tiny budgets, so that none of them rots.
final class ExamplesCommandTests: ScratchDirectoryTestCase {
    /// The repository this test file belongs to.
    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static var ili: String { BinaryRunner.productsDirectory.appendingPathComponent("ili").path }

    /// Budgets small enough for a test, written over an example's own.
    static let tinyBudget: [(pattern: String, replacement: String)] = [
        (#"simulations_per_round: [0-9_]+"#, "simulations_per_round: 100"),
        (#"max_epochs: [0-9_]+"#, "max_epochs: 2"),
        (#"validation: \{simulations: [0-9_]+, samples: [0-9_]+\}"#, "validation: {simulations: 20, samples: 50}"),
        (#"warmup: [0-9_]+"#, "warmup: 20"),
    ]

    /// The folders of examples/ that hold a configuration.
    func examples() throws -> [URL] {
        let root = Self.repository.appendingPathComponent("examples")
        return try FileManager.default.contentsOfDirectory(at: root, includingPropertiesForKeys: nil)
            .filter { FileManager.default.fileExists(atPath: $0.appendingPathComponent("config.yaml").path) }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    /// The example's folder copied into the scratch folder (without any runs), with its
    /// configuration's budget replaced by `tinyBudget`; every budget line it has must be
    /// found, and the three every example sets must be there.
    func tinyCopy(of example: URL) throws -> (config: String, text: String) {
        let copy = directory.appendingPathComponent(example.lastPathComponent)
        try FileManager.default.createDirectory(at: copy, withIntermediateDirectories: true)
        for name in try FileManager.default.contentsOfDirectory(atPath: example.path) where name != "runs" {
            try FileManager.default.copyItem(at: example.appendingPathComponent(name), to: copy.appendingPathComponent(name))
        }
        var text = try String(contentsOf: example.appendingPathComponent("config.yaml"), encoding: .utf8)
        for (k, (pattern, replacement)) in Self.tinyBudget.enumerated() {
            let found = text.range(of: pattern, options: .regularExpression) != nil
            if k < 3 { XCTAssertTrue(found, "\(example.lastPathComponent)/config.yaml has no `\(pattern)` to shrink") }
            text = text.replacingOccurrences(of: pattern, with: replacement, options: .regularExpression)
        }
        let config = copy.appendingPathComponent("config.yaml").path
        try FileManager.default.removeItem(atPath: config)
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        return (config, text)
    }

    /// The value of a top-level `key: value` line, or of `key: N` inside a flow mapping.
    func value(_ key: String, in text: String) -> String? {
        guard let range = text.range(of: #"(^|[{,\s])"# + key + #": *([^,}\s]+)"#, options: .regularExpression) else { return nil }
        return String(text[range].split(separator: ":", maxSplits: 1)[1]).trimmingCharacters(in: .whitespaces)
    }

    func testEveryExampleHasAConfigurationAReadmeAndItsCornerPlot() throws {
        let examples = try examples()
        XCTAssertTrue(Set(examples.map(\.lastPathComponent)).isSuperset(of: ["two-moons", "ltu-toy", "gaussian-linear"]),
                      "examples found: \(examples.map(\.lastPathComponent))")
        for example in examples {
            let readme = try String(contentsOf: example.appendingPathComponent("README.md"), encoding: .utf8)
            XCTAssertTrue(readme.contains("ili run examples/\(example.lastPathComponent)/config.yaml"),
                          "\(example.lastPathComponent)/README.md says how to run it")
            // Every image the README shows is in the folder.
            let images = readme.matches(of: /!\[[^\]]*\]\(([^)]+)\)/).map { String($0.1) }
            XCTAssertFalse(images.isEmpty, "\(example.lastPathComponent)/README.md shows its corner plot")
            for image in images {
                XCTAssertTrue(FileManager.default.fileExists(atPath: example.appendingPathComponent(image).path),
                              "\(example.lastPathComponent)/README.md shows \(image), which is not in the folder")
            }
        }
    }

    func testEveryExampleRunsWithATinyBudget() throws {
        for example in try examples() {
            try runTiny(example)
        }
    }

    func runTiny(_ example: URL) throws {
        let name = example.lastPathComponent
        let (config, text) = try tinyCopy(of: example)
        let experiment = try XCTUnwrap(value("experiment", in: text), "\(name) names its experiment")
        let rounds = Int(value("count", in: text) ?? "1") ?? 1
        let run = try BinaryRunner.run(["run", config, "--quiet"])
        XCTAssertEqual(run.status, 0, "\(name): \(run.stdout)\(run.stderr)")
        XCTAssertTrue(run.stdout.contains("experiment \(experiment): \(rounds) of \(rounds) rounds done"), "\(name): \(run.stdout)")

        let out = URL(fileURLWithPath: config).deletingLastPathComponent().appendingPathComponent("runs/\(experiment)")
        let registry = try Registry(url: "sqlite:" + out.appendingPathComponent("registry.db").path)
        defer { registry.close() }
        let recorded = try registry.rounds(experiment: experiment)
        XCTAssertEqual(recorded.map(\.status), Array(repeating: .done, count: rounds), name)
        XCTAssertEqual(recorded.map(\.validSimulations), Array(repeating: 100, count: rounds), name)
        XCTAssertEqual(recorded.map(\.validTestSimulations), Array(repeating: 20, count: rounds), name)
        let posteriors = try registry.posteriors(experiment: experiment)
        XCTAssertEqual(posteriors.count, rounds, name)
        for posterior in posteriors {
            XCTAssertEqual(try registry.validationResults(posterior: posterior.id).last?.metric, "verdict", "\(name): every posterior is judged")
        }

        let thetaDimension = try XCTUnwrap(recorded.first.map { _ in try registry.experiment(named: experiment).thetaDimension })
        for round in 0..<rounds {
            let folder = out.appendingPathComponent("round-\(round)")
            for file in ["posterior.json", "validation.json", "corner_xo.svg"] {
                XCTAssertTrue(FileManager.default.fileExists(atPath: folder.appendingPathComponent(file).path), "\(name): round-\(round)/\(file)")
            }
            // Sequential NLE's earlier rounds draw as many as the next round simulates (those θs).
            let reused = text.contains("strategy: sequential") && text.contains("method: nle") && round < rounds - 1
            let samples = try NPYFile.read(folder.appendingPathComponent("samples_xo.npy").path)
            XCTAssertEqual(samples.shape, [reused ? 100 : 10_000, thetaDimension], "\(name): round-\(round)/samples_xo.npy")
        }
    }

    // MARK: ops/demo and the README

    /// Runs a shell command in the repository with the demo's tiny budget, this build's
    /// binary, and `ili` on PATH.
    func shell(_ command: String, demoOut: String) throws -> BinaryRunner.Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", command]
        process.currentDirectoryURL = Self.repository
        var environment = ProcessInfo.processInfo.environment
        environment["ILI_DEMO_QUICK"] = "1"
        environment["ILI_DEMO_OUT"] = demoOut
        environment["ILI_BIN"] = Self.ili
        environment["PATH"] = BinaryRunner.productsDirectory.path + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
        process.environment = environment
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return .init(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                     stderr: String(decoding: errData, as: UTF8.self))
    }

    func testTheDemoRunsTwoMoonsEndToEndAndSaysWhereEverythingIs() throws {
        let demo = try shell("ops/demo", demoOut: path("demo"))
        XCTAssertEqual(demo.status, 0, demo.stdout + demo.stderr)
        let round = path("demo/runs/two-moons/round-0")
        for line in ["posterior:        \(round)", "samples at x_o:   \(round)/samples_xo.npy", "\(round)/corner_xo.svg",
                     "validation:       \(round)/validation.json", "registry:         sqlite:\(path("demo/runs/two-moons/registry.db"))"] {
            XCTAssertTrue(demo.stdout.contains(line), "expected “\(line)” in:\n\(demo.stdout)")
        }
        XCTAssertNotNil(demo.stdout.range(of: #"calibrated: +(yes|NO)"#, options: .regularExpression), demo.stdout)
        // The demo's listing of the registry's rounds.
        XCTAssertNotNil(demo.stdout.range(of: #"round-\d+\s+0\s+done\s+prior\s+300\s"#, options: .regularExpression), demo.stdout)

        let registry = try Registry(url: "sqlite:" + path("demo/runs/two-moons/registry.db"))
        defer { registry.close() }
        let rounds = try registry.rounds(experiment: "two-moons")
        XCTAssertEqual(rounds.map(\.status), [.done])
        XCTAssertEqual(rounds.map(\.validSimulations), [300])
        XCTAssertEqual(rounds.map(\.validTestSimulations), [20])
        let posterior = try XCTUnwrap(try registry.posteriors(experiment: "two-moons").first)
        let verdict = try XCTUnwrap(try registry.validationResults(posterior: posterior.id).last)
        XCTAssertEqual(verdict.metric, "verdict")
        XCTAssertTrue(demo.stdout.contains(verdict.passed ? "calibrated:       yes" : "calibrated:       NO"), demo.stdout)
        let samples = try NPYFile.read(round + "/samples_xo.npy")
        XCTAssertEqual(samples.shape, [10_000, 2])
        // The example itself is untouched: the demo ran a copy.
        XCTAssertEqual(try String(contentsOfFile: path("demo/config.yaml"), encoding: .utf8).contains("simulations_per_round: 300"), true)
    }

    /// The fenced `sh` blocks that follow a `<!-- docs-test -->` line in the README.
    static func runnableBlocks(in readme: String) -> [[String]] {
        readme.matches(of: /<!-- docs-test -->\n```sh\n((?:.*\n)*?)```/).map { match in
            match.1.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        }
    }

    func testTheQuickStartIsTheTwoCommandsAndTheMarkedOnesRun() throws {
        let readme = try String(contentsOf: Self.repository.appendingPathComponent("README.md"), encoding: .utf8)
        let quickStart = try XCTUnwrap(readme.range(of: #"## Quick start\n(?:.*\n)*?(?=## )"#, options: .regularExpression),
                                       "the README has a Quick start section")
        let commands = readme[quickStart].matches(of: /```sh\n((?:.*\n)*?)```/)
            .flatMap { $0.1.split(separator: "\n").map(String.init) }
            .filter { !$0.hasPrefix("#") }
        XCTAssertEqual(commands, ["ops/demo", "ops/test"], "the quick start is exactly these two commands")

        let blocks = Self.runnableBlocks(in: readme)
        XCTAssertTrue(blocks.contains(["ops/demo"]), "the quick start's ops/demo is marked to run: \(blocks)")
        for (k, block) in blocks.enumerated() {
            for command in block {
                let result = try shell(command, demoOut: path("docs-\(k)"))
                XCTAssertEqual(result.status, 0, "README command `\(command)`:\n\(result.stdout)\(result.stderr)")
            }
        }
    }
}
