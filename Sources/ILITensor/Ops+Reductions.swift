import RealModule

/// Sums, means and the row-wise log-sum-exp and softmax.
///
/// "Each row" reduces across the columns of every row, giving a column (m×1);
/// "each column" reduces down the rows, giving a row (1×n).
extension Variable {
    /// The sum of all elements (1×1).
    @inlinable public func sum() -> Variable {
        let x = value
        return tape.record(Matrix(scalar: x.sum()), inputs: self) { tape, g in
            tape.accumulateGradient(Matrix(rows: x.rows, cols: x.cols, repeating: g.scalar), into: self)
        }
    }

    /// The mean of all elements (1×1).
    @inlinable public func mean() -> Variable {
        let x = value
        let n = Scalar(Swift.max(x.count, 1))
        return tape.record(Matrix(scalar: x.sum() / n), inputs: self) { tape, g in
            tape.accumulateGradient(Matrix(rows: x.rows, cols: x.cols, repeating: g.scalar / n), into: self)
        }
    }

    /// The sum of each row (m×1).
    @inlinable public func sumEachRow() -> Variable {
        let x = value
        return tape.record(x.sumEachRow(), inputs: self) { tape, g in
            tape.accumulateGradient(Matrix.broadcast(g, Matrix(rows: 1, cols: x.cols, repeating: 0), +), into: self)
        }
    }

    /// The sum of each column (1×n).
    @inlinable public func sumEachColumn() -> Variable {
        let x = value
        return tape.record(x.sumEachColumn(), inputs: self) { tape, g in
            tape.accumulateGradient(Matrix.broadcast(g, Matrix(rows: x.rows, cols: 1, repeating: 0), +), into: self)
        }
    }

    /// The mean of each row (m×1).
    @inlinable public func meanEachRow() -> Variable {
        sumEachRow() * (1 / Scalar(Swift.max(cols, 1)))
    }

    /// The mean of each column (1×n).
    @inlinable public func meanEachColumn() -> Variable {
        sumEachColumn() * (1 / Scalar(Swift.max(rows, 1)))
    }

    /// log Σⱼ exp(xᵢⱼ) for each row i (m×1), shifted by the row maximum for stability.
    @inlinable public func logSumExpEachRow() -> Variable {
        let x = value
        let (m, n) = (x.rows, x.cols)
        let y = Matrix<Scalar>(rows: m, cols: 1) { out in
            x.storage.withUnsafeBufferPointer { a in
                for i in 0..<m { out[i] = Self.logSumExp(a, offset: i * n, count: n) }
            }
        }
        return tape.record(y, inputs: self) { tape, g in
            // ∂/∂xᵢⱼ = gᵢ · softmax(xᵢ)ⱼ
            let gx = Matrix<Scalar>(rows: m, cols: n) { out in
                x.storage.withUnsafeBufferPointer { a in
                    for i in 0..<m {
                        let lse = y.storage[i], gi = g.storage[i]
                        for j in 0..<n { out[i * n + j] = gi * Scalar.exp(a[i * n + j] - lse) }
                    }
                }
            }
            tape.accumulateGradient(gx, into: self)
        }
    }

    /// The softmax of each row.
    @inlinable public func softmaxEachRow() -> Variable {
        let x = value
        let (m, n) = (x.rows, x.cols)
        let y = Self.softmaxRows(x)
        return tape.record(y, inputs: self) { tape, g in
            // ∂/∂xᵢⱼ = yᵢⱼ (gᵢⱼ − Σₖ gᵢₖ yᵢₖ)
            let gx = Matrix<Scalar>(rows: m, cols: n) { out in
                for i in 0..<m {
                    var dot: Scalar = 0
                    for j in 0..<n { dot += g.storage[i * n + j] * y.storage[i * n + j] }
                    for j in 0..<n { out[i * n + j] = y.storage[i * n + j] * (g.storage[i * n + j] - dot) }
                }
            }
            tape.accumulateGradient(gx, into: self)
        }
    }

    /// The log-softmax of each row, xᵢⱼ − log Σₖ exp(xᵢₖ), as one operation.
    @inlinable public func logSoftmaxEachRow() -> Variable {
        let x = value
        let (m, n) = (x.rows, x.cols)
        let y = Matrix<Scalar>(rows: m, cols: n) { out in
            x.storage.withUnsafeBufferPointer { a in
                for i in 0..<m {
                    let lse = Self.logSumExp(a, offset: i * n, count: n)
                    for j in 0..<n { out[i * n + j] = a[i * n + j] - lse }
                }
            }
        }
        return tape.record(y, inputs: self) { tape, g in
            // ∂/∂xᵢⱼ = gᵢⱼ − softmaxᵢⱼ Σₖ gᵢₖ
            let gx = Matrix<Scalar>(rows: m, cols: n) { out in
                for i in 0..<m {
                    var total: Scalar = 0
                    for j in 0..<n { total += g.storage[i * n + j] }
                    for j in 0..<n { out[i * n + j] = g.storage[i * n + j] - Scalar.exp(y.storage[i * n + j]) * total }
                }
            }
            tape.accumulateGradient(gx, into: self)
        }
    }

    @inlinable
    static func logSumExp(_ a: UnsafeBufferPointer<Scalar>, offset: Int, count: Int) -> Scalar {
        guard count > 0 else { return -Scalar.infinity }
        var top = -Scalar.infinity
        for j in 0..<count { top = Swift.max(top, a[offset + j]) }
        if !top.isFinite { return top }
        var s: Scalar = 0
        for j in 0..<count { s += Scalar.exp(a[offset + j] - top) }
        return top + Scalar.log(s)
    }

    @inlinable
    static func softmaxRows(_ x: Matrix<Scalar>) -> Matrix<Scalar> {
        let (m, n) = (x.rows, x.cols)
        return Matrix(rows: m, cols: n) { out in
            x.storage.withUnsafeBufferPointer { a in
                for i in 0..<m {
                    var top = -Scalar.infinity
                    for j in 0..<n { top = Swift.max(top, a[i * n + j]) }
                    var s: Scalar = 0
                    for j in 0..<n {
                        let e = Scalar.exp(a[i * n + j] - top)
                        out[i * n + j] = e
                        s += e
                    }
                    for j in 0..<n { out[i * n + j] /= s }
                }
            }
        }
    }
}
