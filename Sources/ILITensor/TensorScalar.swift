import COpenBLAS
import RealModule

/// A floating-point type the engine computes in: `Float` for training and sampling,
/// `Double` for gradient checks and numerically delicate reductions.
///
/// Conformers route matrix products to the matching BLAS routine.
///
/// ```swift
/// let a = Matrix<Float>(rows: 2, cols: 3, repeating: 1)
/// let b = Matrix<Double>(rows: 2, cols: 3, repeating: 1)
/// ```
public protocol TensorScalar: Real, BinaryFloatingPoint, Sendable
where Self.RawSignificand: FixedWidthInteger {
    /// `C ← alpha · op(A) · op(B) + beta · C` on row-major buffers.
    static func gemm(
        transposeA: Bool, transposeB: Bool,
        m: Int, n: Int, k: Int,
        alpha: Self, a: UnsafePointer<Self>, lda: Int,
        b: UnsafePointer<Self>, ldb: Int,
        beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)

    /// `y[i] = tanh(x[i])` over a buffer: vectorized for `Float`, libm for `Double`.
    static func tanh(_ x: UnsafeBufferPointer<Self>, into y: UnsafeMutableBufferPointer<Self>)
    /// `y[i] = exp(x[i])` over a buffer: vectorized for `Float`, libm for `Double`.
    static func exp(_ x: UnsafeBufferPointer<Self>, into y: UnsafeMutableBufferPointer<Self>)
    /// `y[i] = 1 / (1 + exp(-x[i]))` over a buffer.
    static func sigmoid(_ x: UnsafeBufferPointer<Self>, into y: UnsafeMutableBufferPointer<Self>)

    /// The name of the element type in file formats (`"F32"` in safetensors, `"<f4"` in .npy).
    static var safetensorsDType: String { get }
    static var npyDescriptor: String { get }
}

@usableFromInline
func cblasTranspose(_ t: Bool) -> ILICBLASTranspose {
    t ? ILICBLASTrans : ILICBLASNoTrans
}

extension Float: TensorScalar {
    @inlinable
    public static func gemm(
        transposeA: Bool, transposeB: Bool,
        m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        cblas_sgemm(ILICBLASRowMajor, cblasTranspose(transposeA), cblasTranspose(transposeB),
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb),
                    beta, c, Int32(ldc))
    }
    @inlinable
    public static func tanh(_ x: UnsafeBufferPointer<Float>, into y: UnsafeMutableBufferPointer<Float>) {
        for i in 0..<x.count { y[i] = FastFloatMath.tanh(x[i]) }
    }
    @inlinable
    public static func exp(_ x: UnsafeBufferPointer<Float>, into y: UnsafeMutableBufferPointer<Float>) {
        for i in 0..<x.count { y[i] = FastFloatMath.exp(x[i]) }
    }
    @inlinable
    public static func sigmoid(_ x: UnsafeBufferPointer<Float>, into y: UnsafeMutableBufferPointer<Float>) {
        for i in 0..<x.count { y[i] = FastFloatMath.sigmoid(x[i]) }
    }
    public static var safetensorsDType: String { "F32" }
    public static var npyDescriptor: String { "<f4" }
}

extension Double: TensorScalar {
    @inlinable
    public static func gemm(
        transposeA: Bool, transposeB: Bool,
        m: Int, n: Int, k: Int,
        alpha: Double, a: UnsafePointer<Double>, lda: Int,
        b: UnsafePointer<Double>, ldb: Int,
        beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int
    ) {
        cblas_dgemm(ILICBLASRowMajor, cblasTranspose(transposeA), cblasTranspose(transposeB),
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb),
                    beta, c, Int32(ldc))
    }
    @inlinable
    public static func tanh(_ x: UnsafeBufferPointer<Double>, into y: UnsafeMutableBufferPointer<Double>) {
        for i in 0..<x.count { y[i] = Double.tanh(x[i]) }
    }
    @inlinable
    public static func exp(_ x: UnsafeBufferPointer<Double>, into y: UnsafeMutableBufferPointer<Double>) {
        for i in 0..<x.count { y[i] = Double.exp(x[i]) }
    }
    @inlinable
    public static func sigmoid(_ x: UnsafeBufferPointer<Double>, into y: UnsafeMutableBufferPointer<Double>) {
        for i in 0..<x.count {
            let v = x[i]
            y[i] = v >= 0 ? 1 / (1 + Double.exp(-v)) : Double.exp(v) / (1 + Double.exp(v))
        }
    }
    public static var safetensorsDType: String { "F64" }
    public static var npyDescriptor: String { "<f8" }
}
