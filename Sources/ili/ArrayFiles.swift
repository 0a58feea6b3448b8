import Foundation
import ILITensor

/// Reads the .npy arrays commands take as rows of numbers, with errors that name the file.
enum ArrayFiles {
    /// How a 1-D file is read: as one row (one observation), or as a column of n rows of
    /// width 1 when the width is 1 (n test points of one parameter) and one row otherwise.
    enum OneDimensional { case oneRow, columnWhenWidthIsOne }

    /// An n×width array from `path`, refused unless its rows have `width` values and every
    /// value is finite; `what` says what a row is ("observation", "test point").
    static func rows(_ path: String, width: Int, what: String, oneDimensional: OneDimensional) throws -> Matrix<Double> {
        let file = try NPYFile.read(path)
        var m = file.matrix(as: Double.self)
        if file.isOneDimensional {
            m = oneDimensional == .columnWhenWidthIsOne && width == 1
                ? Matrix(rows: m.count, cols: 1, m.storage) : Matrix(rows: 1, cols: m.count, m.storage)
        }
        guard m.cols == width else {
            let shape = file.shape.map(String.init).joined(separator: "×")
            throw CommandFailure("\(path) is \(shape): each \(what) needs \(width) value\(width == 1 ? "" : "s") (rows of width \(width))")
        }
        try requireFinite(m, path: path, what: what)
        return m
    }

    /// Refuses NaN and ±∞, naming the file, the row and the index of the first one.
    static func requireFinite(_ m: Matrix<Double>, path: String, what: String) throws {
        for (position, value) in m.storage.enumerated() where !value.isFinite {
            let row = position / m.cols, index = position % m.cols
            let place = m.rows == 1 ? "the \(what)" : "\(what) \(row) (row \(row))"
            throw CommandFailure("\(path): \(place) holds \(value) at index \(index); ili needs finite values here, so remove or replace it")
        }
    }
}
