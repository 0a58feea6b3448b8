import ArgumentParser
import Foundation
import ILIInference

/// One observation of an SBI benchmark (sbibm) task as its files ship it, extracted by
/// `Benchmarks/sbibm/fetch.sh` into `<directory>/num_observation_<N>/`: `observation.csv`,
/// `true_parameters.csv` and `reference_posterior_samples.csv` (decompressed), each a
/// header line of column names and then rows of comma-separated numbers.
struct SBIBenchmarkObservation {
    let number: Int
    let observation: [Double]
    let trueParameters: [Double]
    let referenceSamples: Matrix<Double>

    init(taskDirectory: String, number: Int) throws {
        let directory = "\(taskDirectory)/num_observation_\(number)"
        self.number = number
        observation = try Self.single(try Self.readCSV("\(directory)/observation.csv"), "\(directory)/observation.csv")
        trueParameters = try Self.single(try Self.readCSV("\(directory)/true_parameters.csv"), "\(directory)/true_parameters.csv")
        let samples = try Self.readCSV("\(directory)/reference_posterior_samples.csv")
        guard let width = samples.first?.count, samples.allSatisfy({ $0.count == width }) else {
            throw ValidationError("\(directory)/reference_posterior_samples.csv: no rows, or rows of different widths")
        }
        referenceSamples = Matrix(rows: samples.count, cols: width, samples.flatMap { $0 })
    }

    private static func single(_ rows: [[Double]], _ path: String) throws -> [Double] {
        guard rows.count == 1 else { throw ValidationError("\(path): expected one row of numbers after the header, found \(rows.count)") }
        return rows[0]
    }

    /// The numeric rows of a CSV file with one header line.
    static func readCSV(_ path: String) throws -> [[Double]] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ValidationError("cannot read \(path); Benchmarks/sbibm/fetch.sh downloads and extracts the benchmark's files")
        }
        let lines = text.split(whereSeparator: \.isNewline).dropFirst()
        return try lines.enumerated().map { index, line in
            try line.split(separator: ",").map { field in
                guard let value = Double(field.trimmingCharacters(in: .whitespaces)) else {
                    throw ValidationError("\(path), line \(index + 2): '\(field)' is not a number")
                }
                return value
            }
        }
    }
}
