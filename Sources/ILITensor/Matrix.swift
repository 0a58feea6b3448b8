/// A dense row-major matrix of `Scalar`s: element (i, j) lives at `storage[i * cols + j]`.
///
/// Vectors are matrices with one row or one column; a scalar is 1×1.
///
/// ```swift
/// var m = Matrix<Float>(rows: 2, cols: 3, repeating: 0)
/// m[1, 2] = 5
/// let t = Matrix<Float>(rows: 2, cols: 2, [1, 2, 3, 4])
/// ```
public struct Matrix<Scalar: TensorScalar>: Sendable, Equatable {
    public let rows: Int
    public let cols: Int
    public var storage: [Scalar]

    /// A matrix with the given elements in row-major order.
    ///
    /// - Precondition: `storage.count == rows * cols`.
    @inlinable
    public init(rows: Int, cols: Int, _ storage: [Scalar]) {
        precondition(rows >= 0 && cols >= 0, "negative matrix shape \(rows)x\(cols)")
        precondition(storage.count == rows * cols,
                     "\(storage.count) elements do not fill a \(rows)x\(cols) matrix")
        self.rows = rows
        self.cols = cols
        self.storage = storage
    }

    @inlinable
    public init(rows: Int, cols: Int, repeating value: Scalar) {
        self.init(rows: rows, cols: cols, Array(repeating: value, count: rows * cols))
    }

    /// A matrix whose elements are written by `initializer`, which must set all `rows * cols`
    /// of them: the buffer is not zero-filled first.
    @inlinable
    public init(rows: Int, cols: Int,
                uninitializedWith initializer: (UnsafeMutableBufferPointer<Scalar>) throws -> Void) rethrows {
        let count = rows * cols
        self.rows = rows
        self.cols = cols
        self.storage = try Array(unsafeUninitializedCapacity: count) { buffer, initialized in
            try initializer(buffer)
            initialized = count
        }
    }

    /// A matrix whose elements are `f(i, j)`.
    @inlinable
    public init(rows: Int, cols: Int, generator f: (Int, Int) throws -> Scalar) rethrows {
        try self.init(rows: rows, cols: cols) { out in
            for i in 0..<rows {
                for j in 0..<cols { out[i * cols + j] = try f(i, j) }
            }
        }
    }

    /// A matrix from nested rows, e.g. `Matrix([[1, 2], [3, 4]])`.
    ///
    /// - Precondition: all rows have the same length.
    @inlinable
    public init(_ nested: [[Scalar]]) {
        let cols = nested.first?.count ?? 0
        precondition(nested.allSatisfy { $0.count == cols }, "ragged rows in matrix literal")
        self.init(rows: nested.count, cols: cols, nested.flatMap { $0 })
    }

    /// A 1×1 matrix.
    @inlinable
    public init(scalar: Scalar) {
        self.init(rows: 1, cols: 1, [scalar])
    }

    @inlinable public var count: Int { rows * cols }
    @inlinable public var shape: (rows: Int, cols: Int) { (rows, cols) }
    @inlinable public var shapeDescription: String { "\(rows)x\(cols)" }

    @inlinable
    public subscript(row: Int, col: Int) -> Scalar {
        get { storage[row * cols + col] }
        set { storage[row * cols + col] = newValue }
    }

    /// The single element of a 1×1 matrix.
    @inlinable
    public var scalar: Scalar {
        precondition(count == 1, "scalar of a \(shapeDescription) matrix")
        return storage[0]
    }

    /// Row `i` as an array.
    @inlinable
    public func row(_ i: Int) -> [Scalar] {
        Array(storage[(i * cols)..<((i + 1) * cols)])
    }

    /// The transpose, copied.
    @inlinable
    public var transposed: Matrix {
        Matrix(rows: cols, cols: rows) { out in
            storage.withUnsafeBufferPointer { a in
                for i in 0..<rows {
                    for j in 0..<cols { out[j * rows + i] = a[i * cols + j] }
                }
            }
        }
    }

    /// The same elements converted to another scalar type.
    @inlinable
    public func converted<Other: TensorScalar>(to: Other.Type = Other.self) -> Matrix<Other> {
        Matrix<Other>(rows: rows, cols: cols) { out in
            storage.withUnsafeBufferPointer { a in
                for i in 0..<a.count { out[i] = Other(a[i]) }
            }
        }
    }

    /// The rows at `indices`, in that order (a minibatch, or a permutation of rows).
    @inlinable
    public func rows(at indices: [Int]) -> Matrix {
        Matrix(rows: indices.count, cols: cols) { out in
            storage.withUnsafeBufferPointer { a in
                for (r, i) in indices.enumerated() {
                    precondition(i >= 0 && i < rows, "row index \(i) out of 0..<\(rows)")
                    let src = a.baseAddress! + i * cols
                    (out.baseAddress! + r * cols).update(from: src, count: cols)
                }
            }
        }
    }

    /// Whether every element is finite.
    @inlinable
    public var isFinite: Bool { storage.allSatisfy { $0.isFinite } }
}

extension Matrix: CustomStringConvertible {
    public var description: String {
        let shown = (0..<Swift.min(rows, 8)).map { i in
            "[" + row(i).prefix(8).map { "\($0)" }.joined(separator: ", ") + (cols > 8 ? ", …" : "") + "]"
        }
        return "Matrix<\(Scalar.self)> \(shapeDescription) [" + shown.joined(separator: ", ")
            + (rows > 8 ? ", …" : "") + "]"
    }
}

// MARK: - Products

extension Matrix {
    /// `op(a) · op(b)` through BLAS gemm, transposing by flag rather than by copy.
    ///
    /// ```swift
    /// let c = Matrix.product(a, b, transposeB: true)   // a · bᵀ
    /// ```
    @inlinable
    public static func product(_ a: Matrix, _ b: Matrix,
                               transposeA: Bool = false, transposeB: Bool = false) -> Matrix {
        let m = transposeA ? a.cols : a.rows
        let k = transposeA ? a.rows : a.cols
        let kb = transposeB ? b.cols : b.rows
        let n = transposeB ? b.rows : b.cols
        precondition(k == kb, "product of \(a.shapeDescription)\(transposeA ? "ᵀ" : "") and \(b.shapeDescription)\(transposeB ? "ᵀ" : ""): inner sizes \(k) and \(kb) differ")
        return Matrix(rows: m, cols: n) { out in
            if k == 0 {
                out.initialize(repeating: 0)
                return
            }
            a.storage.withUnsafeBufferPointer { pa in
                b.storage.withUnsafeBufferPointer { pb in
                    Scalar.gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                                alpha: 1, a: pa.baseAddress!, lda: a.cols,
                                b: pb.baseAddress!, ldb: b.cols,
                                beta: 0, c: out.baseAddress!, ldc: n)
                }
            }
        }
    }

    /// `self ← alpha · op(a) · op(b) + beta · self`, in place.
    @inlinable
    public mutating func addProduct(_ a: Matrix, _ b: Matrix, transposeA: Bool = false,
                                    transposeB: Bool = false, alpha: Scalar = 1, beta: Scalar = 1) {
        let m = transposeA ? a.cols : a.rows
        let k = transposeA ? a.rows : a.cols
        let n = transposeB ? b.rows : b.cols
        precondition(m == rows && n == cols && k == (transposeB ? b.cols : b.rows),
                     "addProduct shapes \(a.shapeDescription), \(b.shapeDescription) into \(shapeDescription)")
        guard k > 0, count > 0 else { return }
        let ldc = cols
        a.storage.withUnsafeBufferPointer { pa in
            b.storage.withUnsafeBufferPointer { pb in
                storage.withUnsafeMutableBufferPointer { pc in
                    Scalar.gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                                alpha: alpha, a: pa.baseAddress!, lda: a.cols,
                                b: pb.baseAddress!, ldb: b.cols,
                                beta: beta, c: pc.baseAddress!, ldc: ldc)
                }
            }
        }
    }
}
