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

    /// tanh x as x·P(x²)/Q(x²), P and Q of degree 4 (a rational fit to tanh on [0, 9],
    /// weighted to its relative error, with P(0) = Q(0) = 1 so that tiny x come out as x);
    /// ±1 from |x| = 9 on, where float's tanh is 1. Under 4 ulp everywhere (FastFloatMathTests)
    /// in about a third of the operations of going through expm1: in a network 50 units
    /// wide, tanh took as much time as half of the matrix products.
    @inlinable @inline(__always)
    public static func tanh(_ x: Float) -> Float {
        let a = Swift.min(Swift.abs(x), 9)
        let s = a * a
        var p = Float(2.066_042_5e-5).addingProduct(Float(1.341_866_9e-8), s)
        p = Float(3.498_945_6e-3).addingProduct(p, s)
        p = Float(0.133_839_38).addingProduct(p, s)
        p = Float(1).addingProduct(p, s)
        var q = Float(3.290_955_5e-4).addingProduct(Float(7.804_255_2e-7), s)
        q = Float(2.589_001_5e-2).addingProduct(q, s)
        q = Float(0.467_172_59).addingProduct(q, s)
        q = Float(1).addingProduct(q, s)
        let t = a >= 9 ? 1 : Swift.min(a * p / q, 1)
        // x's sign on t: −0 stays −0, and a NaN (which every comparison above let through) stays NaN.
        return Float(signOf: x, magnitudeOf: t)
    }

    /// The logistic function 1 / (1 + e⁻ˣ).
    @inlinable @inline(__always)
    public static func sigmoid(_ x: Float) -> Float {
        1 / (1 + exp(-x))
    }
}
