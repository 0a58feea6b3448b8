/// Slicing, concatenation, gathering and transposition.
extension Variable {
    /// Columns `range` of every row.
    @inlinable public func columns(_ range: Range<Int>) -> Variable {
        let x = value
        return tape.record(x.columns(range), inputs: self) { tape, g in
            var gx = Matrix<Scalar>(rows: x.rows, cols: x.cols, repeating: 0)
            for i in 0..<x.rows {
                for j in 0..<range.count { gx.storage[i * x.cols + range.lowerBound + j] = g.storage[i * range.count + j] }
            }
            tape.accumulateGradient(gx, into: self)
        }
    }

    /// Column `j` (m×1).
    @inlinable public func column(_ j: Int) -> Variable { columns(j..<(j + 1)) }

    /// The columns at `indices`, in that order (a permutation, a selection, or repeats).
    @inlinable public func gatherColumns(_ indices: [Int]) -> Variable {
        let x = value
        let (m, n, k) = (x.rows, x.cols, indices.count)
        precondition(indices.allSatisfy { $0 >= 0 && $0 < n }, "column index out of 0..<\(n) in \(indices)")
        let y = Matrix<Scalar>(rows: m, cols: k) { out in
            for i in 0..<m {
                for (c, j) in indices.enumerated() { out[i * k + c] = x.storage[i * n + j] }
            }
        }
        return tape.record(y, inputs: self) { tape, g in
            var gx = Matrix<Scalar>(rows: m, cols: n, repeating: 0)
            for i in 0..<m {
                for (c, j) in indices.enumerated() { gx.storage[i * n + j] += g.storage[i * k + c] }
            }
            tape.accumulateGradient(gx, into: self)
        }
    }

    /// The rows at `indices`, in that order.
    @inlinable public func gatherRows(_ indices: [Int]) -> Variable {
        let x = value
        let n = x.cols
        return tape.record(x.rows(at: indices), inputs: self) { tape, g in
            var gx = Matrix<Scalar>(rows: x.rows, cols: n, repeating: 0)
            for (r, i) in indices.enumerated() {
                for j in 0..<n { gx.storage[i * n + j] += g.storage[r * n + j] }
            }
            tape.accumulateGradient(gx, into: self)
        }
    }

    /// One element per row: `x[i, indices[i]]` (m×1), e.g. a class's log-probability.
    @inlinable public func pick(columnPerRow indices: [Int]) -> Variable {
        let x = value
        let (m, n) = (x.rows, x.cols)
        precondition(indices.count == m, "\(indices.count) column indices for \(m) rows")
        precondition(indices.allSatisfy { $0 >= 0 && $0 < n }, "column index out of 0..<\(n)")
        let y = Matrix<Scalar>(rows: m, cols: 1) { out in
            for i in 0..<m { out[i] = x.storage[i * n + indices[i]] }
        }
        return tape.record(y, inputs: self) { tape, g in
            var gx = Matrix<Scalar>(rows: m, cols: n, repeating: 0)
            for i in 0..<m { gx.storage[i * n + indices[i]] = g.storage[i] }
            tape.accumulateGradient(gx, into: self)
        }
    }

    /// The same values, row-major, in a `rows` × `cols` shape (e.g. one logit per pair
    /// laid out as one row per observation).
    @inlinable public func reshaped(rows: Int, cols: Int) -> Variable {
        let x = value
        precondition(rows * cols == x.count, "cannot reshape \(x.shapeDescription) to \(rows)x\(cols)")
        return tape.record(Matrix(rows: rows, cols: cols, x.storage), inputs: self) { tape, g in
            tape.accumulateGradient(Matrix(rows: x.rows, cols: x.cols, g.storage), into: self)
        }
    }

    @inlinable public func transposed() -> Variable {
        tape.record(value.transposed, inputs: self) { tape, g in
            tape.accumulateGradient(g.transposed, into: self)
        }
    }
}

extension Tape {
    /// The variables side by side (same number of rows).
    @inlinable
    public func concatColumns(_ parts: [Variable<Scalar>]) -> Variable<Scalar> {
        let values = parts.map(\.value)
        let y = Matrix.concatenatingColumns(values)
        return record(y, inputs: parts) { tape, g in
            var offset = 0
            for (part, v) in zip(parts, values) {
                if tape.needsGradient(part) { tape.accumulateGradient(g.columns(offset..<(offset + v.cols)), into: part) }
                offset += v.cols
            }
        }
    }

    /// The variables stacked vertically (same number of columns).
    @inlinable
    public func concatRows(_ parts: [Variable<Scalar>]) -> Variable<Scalar> {
        let values = parts.map(\.value)
        let y = Matrix.concatenatingRows(values)
        return record(y, inputs: parts) { tape, g in
            var offset = 0
            for (part, v) in zip(parts, values) {
                if tape.needsGradient(part) {
                    tape.accumulateGradient(Matrix(rows: v.rows, cols: v.cols,
                                                   Array(g.storage[(offset * v.cols)..<((offset + v.rows) * v.cols)])),
                                            into: part)
                }
                offset += v.rows
            }
        }
    }
}
