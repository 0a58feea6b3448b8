/// Vectorizable float32 exponentials for the hot element-wise ops.
///
/// glibc's `expf`/`tanhf` are scalar calls; these are branch-free loops the compiler
/// turns into SIMD code. Each reduces x = n·ln2 + r with |r| ≤ ln2/2, evaluates a
/// degree-8 Taylor polynomial of expm1(r) (truncation below 3e-10), and scales by 2ⁿ
/// through the exponent bits. Accuracy is a few ulp over the whole float range
/// (FastFloatMathTests measures it against double precision).
public enum FastFloatMath {
    @usableFromInline static let log2e: Float = 1.442_695_04
    // ln 2 split so that n·ln2Hi is exact for the n that occur (Cody–Waite).
    @usableFromInline static let ln2Hi: Float = 0.693_145_751_953_125
    @usableFromInline static let ln2Lo: Float = 1.428_606_765_330_187_045e-6
    /// 1.5·2²³: adding it rounds to an integer held in the low mantissa bits.
    @usableFromInline static let roundingShift: Float = 12_582_912

    /// expm1(r) − r for |r| ≤ ln2/2, as r²·(1/2 + r/6 + … + r⁶/8!).
    @inlinable @inline(__always)
    static func expm1Tail(_ r: Float) -> Float {
        // Horner steps as fused multiply-adds (one instruction each where the CPU has FMA).
        var q = Float(1.0 / 5040).addingProduct(Float(1.0 / 40320), r)
        q = Float(1.0 / 720).addingProduct(q, r)
        q = Float(1.0 / 120).addingProduct(q, r)
        q = Float(1.0 / 24).addingProduct(q, r)
        q = Float(1.0 / 6).addingProduct(q, r)
        q = Float(0.5).addingProduct(q, r)
        return r * r * q
    }

    /// x = n·ln2 + r with |r| ≤ ln2/2, for x clamped to [−87, 88]: returns r and 2ⁿ.
    @inlinable @inline(__always)
    static func reduce(_ x: Float) -> (r: Float, scale: Float) {
        let xc = Swift.min(Swift.max(x, -87), 88)
        let shifted = xc * log2e + roundingShift
        let n = shifted - roundingShift
        let r = (xc - n * ln2Hi) - n * ln2Lo
        let bits = (shifted.bitPattern &- roundingShift.bitPattern &+ 127) << 23
        return (r, Float(bitPattern: bits))
    }

    /// eˣ, with x clamped to [−87, 88] (results within float's normal range).
    @inlinable @inline(__always)
    public static func exp(_ x: Float) -> Float {
        let (r, scale) = reduce(x)
        return scale * (1 + r + expm1Tail(r))
    }

    /// eˣ − 1, accurate near zero (no cancellation), for x in [−87, 88].
    @inlinable @inline(__always)
    public static func expMinusOne(_ x: Float) -> Float {
        let (r, scale) = reduce(x)
        // 2ⁿ·(1 + q) − 1 = 2ⁿ·q + (2ⁿ − 1); exact in the second term, and q alone when n = 0.
        let q = r + expm1Tail(r)
        return scale * q + (scale - 1)
    }

    /// tanh x = −m / (2 + m) with m = expm1(−2|x|), signed; saturates to ±1 past |x| = 9.
    @inlinable @inline(__always)
    public static func tanh(_ x: Float) -> Float {
        let a = Swift.min(Swift.abs(x), 9)
        let m = expMinusOne(-2 * a)
        let t = -m / (2 + m)
        return x < 0 ? -t : t
    }

    /// The logistic function 1 / (1 + e⁻ˣ).
    @inlinable @inline(__always)
    public static func sigmoid(_ x: Float) -> Float {
        1 / (1 + exp(-x))
    }
}
