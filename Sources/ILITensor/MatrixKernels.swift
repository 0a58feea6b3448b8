/// Element-wise and reduction kernels on plain matrices: loops over unsafe buffers,
/// shared by the tape's forward and backward passes.
extension Matrix {
    /// `f` applied to every element.
    @inlinable
    public func map(_ f: (Scalar) -> Scalar) -> Matrix {
        Matrix(rows: rows, cols: cols) { out in
            storage.withUnsafeBufferPointer { a in
                for i in 0..<a.count { out[i] = f(a[i]) }
            }
        }
    }

    /// A buffer kernel such as `Scalar.tanh(_:into:)` applied to all elements.
    @inlinable
    public func bulk(_ kernel: (UnsafeBufferPointer<Scalar>, UnsafeMutableBufferPointer<Scalar>) -> Void) -> Matrix {
        Matrix(rows: rows, cols: cols) { out in
            storage.withUnsafeBufferPointer { a in kernel(a, out) }
        }
    }

    /// `f` applied to corresponding elements of two matrices of the same shape.
    @inlinable
    public func zip(_ other: Matrix, _ f: (Scalar, Scalar) -> Scalar) -> Matrix {
        precondition(rows == other.rows && cols == other.cols,
                     "element-wise operation on \(shapeDescription) and \(other.shapeDescription)")
        return Matrix(rows: rows, cols: cols) { out in
            storage.withUnsafeBufferPointer { a in
                other.storage.withUnsafeBufferPointer { b in
                    for i in 0..<a.count { out[i] = f(a[i], b[i]) }
                }
            }
        }
    }

    /// `f` applied to corresponding elements of three matrices of the same shape.
    @inlinable
    public func zip(_ b: Matrix, _ c: Matrix, _ f: (Scalar, Scalar, Scalar) -> Scalar) -> Matrix {
        precondition(rows == b.rows && cols == b.cols && rows == c.rows && cols == c.cols,
                     "element-wise operation on \(shapeDescription), \(b.shapeDescription) and \(c.shapeDescription)")
        return Matrix(rows: rows, cols: cols) { out in
            storage.withUnsafeBufferPointer { pa in
                b.storage.withUnsafeBufferPointer { pb in
                    c.storage.withUnsafeBufferPointer { pc in
                        for i in 0..<pa.count { out[i] = f(pa[i], pb[i], pc[i]) }
                    }
                }
            }
        }
    }

    /// The shape two operands broadcast to: each dimension equal, or 1 on one side.
    @inlinable
    public static func broadcastShape(_ a: Matrix, _ b: Matrix) -> (rows: Int, cols: Int) {
        func dim(_ x: Int, _ y: Int, _ what: String) -> Int {
            if x == y { return x }
            if x == 1 { return y }
            if y == 1 { return x }
            preconditionFailure("cannot broadcast \(a.shapeDescription) with \(b.shapeDescription): \(what) \(x) vs \(y)")
        }
        return (dim(a.rows, b.rows, "rows"), dim(a.cols, b.cols, "columns"))
    }

    /// `f(a, b)` element-wise with broadcasting of rows, columns or both (a 1×1 operand).
    @inlinable
    public static func broadcast(_ a: Matrix, _ b: Matrix, _ f: (Scalar, Scalar) -> Scalar) -> Matrix {
        if a.rows == b.rows && a.cols == b.cols { return a.zip(b, f) }
        let (m, n) = broadcastShape(a, b)
        let aRow = a.rows == 1 ? 0 : a.cols, aCol = a.cols == 1 ? 0 : 1
        let bRow = b.rows == 1 ? 0 : b.cols, bCol = b.cols == 1 ? 0 : 1
        return Matrix(rows: m, cols: n) { out in
            a.storage.withUnsafeBufferPointer { pa in
                b.storage.withUnsafeBufferPointer { pb in
                    for i in 0..<m {
                        let ao = i * aRow, bo = i * bRow, oo = i * n
                        for j in 0..<n { out[oo + j] = f(pa[ao + j * aCol], pb[bo + j * bCol]) }
                    }
                }
            }
        }
    }

    /// The sum of `self` over the dimensions where `rows`×`cols` is 1 and `self` is not:
    /// how a broadcast operand collects its gradient.
    @inlinable
    public func summed(toRows targetRows: Int, cols targetCols: Int) -> Matrix {
        if rows == targetRows && cols == targetCols { return self }
        var result = self
        if targetRows == 1 && rows != 1 { result = result.sumEachColumn() }
        if targetCols == 1 && cols != 1 { result = result.sumEachRow() }
        precondition(result.rows == targetRows && result.cols == targetCols,
                     "cannot reduce \(shapeDescription) to \(targetRows)x\(targetCols)")
        return result
    }

    /// The sum of each row, as a column (rows × 1).
    @inlinable
    public func sumEachRow() -> Matrix {
        Matrix(rows: rows, cols: 1) { out in
            storage.withUnsafeBufferPointer { a in
                guard let base = a.baseAddress else { return }
                for i in 0..<rows {
                    // A row pointer, not `a[i * cols + j]`: the overflow check on that
                    // index keeps LLVM from vectorizing the loop.
                    let row = base + i &* cols
                    var s: Scalar = 0
                    for j in 0..<cols { s += row[j] }
                    out[i] = s
                }
            }
        }
    }

    /// The sum of each column, as a row (1 × cols).
    @inlinable
    public func sumEachColumn() -> Matrix {
        var result = Matrix(rows: 1, cols: cols, repeating: 0)
        result.storage.withUnsafeMutableBufferPointer { out in
            storage.withUnsafeBufferPointer { a in
                guard let base = a.baseAddress, let sums = out.baseAddress else { return }
                // Row pointers, as in `sumEachRow`: an overflow-checked index made this a
                // scalar load-add-store per element, a sixth of a MAF step on AMD cores.
                for i in 0..<rows {
                    let row = base + i &* cols
                    for j in 0..<cols { sums[j] += row[j] }
                }
            }
        }
        return result
    }

    /// The sum of all elements, accumulated in double precision.
    @inlinable
    public func sum() -> Scalar {
        storage.withUnsafeBufferPointer { a in
            var s = 0.0
            for x in a { s += Double(x) }
            return Scalar(s)
        }
    }

    /// Multiplies every element by `factor`, in place.
    @inlinable
    public mutating func scale(by factor: Scalar) {
        storage.withUnsafeMutableBufferPointer { a in
            for i in 0..<a.count { a[i] *= factor }
        }
    }

    /// Adds `other` (same shape), in place.
    @inlinable
    public mutating func add(_ other: Matrix, scaledBy factor: Scalar = 1) {
        precondition(rows == other.rows && cols == other.cols,
                     "adding \(other.shapeDescription) to \(shapeDescription)")
        storage.withUnsafeMutableBufferPointer { a in
            other.storage.withUnsafeBufferPointer { b in
                if factor == 1 {
                    for i in 0..<a.count { a[i] += b[i] }
                } else {
                    for i in 0..<a.count { a[i] += factor * b[i] }
                }
            }
        }
    }

    /// Columns `range` of every row.
    @inlinable
    public func columns(_ range: Range<Int>) -> Matrix {
        precondition(range.lowerBound >= 0 && range.upperBound <= cols,
                     "columns \(range) of a \(shapeDescription) matrix")
        let width = range.count
        return Matrix(rows: rows, cols: width) { out in
            storage.withUnsafeBufferPointer { a in
                for i in 0..<rows {
                    for j in 0..<width { out[i * width + j] = a[i * cols + range.lowerBound + j] }
                }
            }
        }
    }

    /// The matrices side by side; all must have the same number of rows.
    @inlinable
    public static func concatenatingColumns(_ parts: [Matrix]) -> Matrix {
        let rows = parts.first?.rows ?? 0
        precondition(parts.allSatisfy { $0.rows == rows },
                     "concatenating columns of \(parts.map(\.shapeDescription)) with different row counts")
        let cols = parts.reduce(0) { $0 + $1.cols }
        return Matrix(rows: rows, cols: cols) { out in
            var offset = 0
            for part in parts {
                part.storage.withUnsafeBufferPointer { p in
                    for i in 0..<rows {
                        for j in 0..<part.cols { out[i * cols + offset + j] = p[i * part.cols + j] }
                    }
                }
                offset += part.cols
            }
        }
    }

    /// The matrices stacked vertically; all must have the same number of columns.
    @inlinable
    public static func concatenatingRows(_ parts: [Matrix]) -> Matrix {
        let cols = parts.first?.cols ?? 0
        precondition(parts.allSatisfy { $0.cols == cols },
                     "stacking rows of \(parts.map(\.shapeDescription)) with different column counts")
        return Matrix(rows: parts.reduce(0) { $0 + $1.rows }, cols: cols, parts.flatMap(\.storage))
    }
}
