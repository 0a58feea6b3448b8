import ArgumentParser
import Foundation
import ILIValidation

/// C2ST between two sample files, as the SBI benchmark computes it.
struct C2STCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "c2st",
        abstract: "Classifier two-sample test accuracy between reference and candidate samples (.npy)."
    )

    @Option(help: "Reference samples (.npy); z-scoring uses their statistics.") var reference: String
    @Option(help: "Candidate samples (.npy).") var candidate: String
    @Option(help: "Use at most this many rows of each.") var limit = 10_000
    @Option(help: "Random seed.") var seed: UInt64 = 1

    func run() throws {
        func load(_ path: String) throws -> Matrix<Double> {
            let m = try NPYFile.read(path).matrix(as: Double.self)
            return m.rows > limit ? m.rows(at: Array(0..<limit)) : m
        }
        let start = Date()
        let score = C2ST.accuracy(reference: try load(reference), candidate: try load(candidate), seed: seed)
        printResult(["name": "c2st", "c2st": score, "seconds": Date().timeIntervalSince(start)])
    }
}
