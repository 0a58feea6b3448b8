import RealModule

/// The one seedable random generator every random choice in ili flows from.
///
/// xoshiro256** seeded through SplitMix64: fast, 256 bits of state, and the same
/// stream for the same seed on every platform. It is a value type, passed `inout`,
/// so there is no hidden global state.
///
/// ```swift
/// var rng = RandomSource(seed: 1)
/// let u: Double = rng.uniform()          // [0, 1)
/// let z: Float = rng.normal()            // standard normal
/// let k = rng.categorical([0.2, 0.8])    // 0 or 1
/// var child = rng.split()                // an independent stream, e.g. for a thread
/// ```
public struct RandomSource: RandomNumberGenerator, Sendable {
    @usableFromInline var s0: UInt64
    @usableFromInline var s1: UInt64
    @usableFromInline var s2: UInt64
    @usableFromInline var s3: UInt64
    /// The second normal of the last Box–Muller pair, not yet handed out.
    @usableFromInline var spareNormal: Double?

    public init(seed: UInt64) {
        var sm = seed
        func splitMix() -> UInt64 {
            sm &+= 0x9E37_79B9_7F4A_7C15
            var z = sm
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitMix(); s1 = splitMix(); s2 = splitMix(); s3 = splitMix()
        spareNormal = nil
    }

    @inlinable
    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = (s3 << 45) | (s3 >> 19)
        return result
    }

    /// A new generator whose stream does not overlap this one's in practice,
    /// seeded from this one (which advances).
    public mutating func split() -> RandomSource {
        RandomSource(seed: next())
    }

    /// Uniform on [0, 1) with 53 random bits.
    @inlinable
    public mutating func uniform() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// Uniform on [0, 1) in the requested precision.
    @inlinable
    public mutating func uniform<T: TensorScalar>(_: T.Type = T.self) -> T {
        if T.self == Float.self {
            return T(Float(next() >> 40) * 0x1.0p-24)
        }
        return T(uniform())
    }

    /// Uniform on [low, high).
    @inlinable
    public mutating func uniform<T: TensorScalar>(in low: T, _ high: T) -> T {
        low + (high - low) * uniform(T.self)
    }

    /// A standard normal draw (Box–Muller, polar-free form, computed in double).
    @inlinable
    public mutating func normal() -> Double {
        if let z = spareNormal {
            spareNormal = nil
            return z
        }
        // 1 - u keeps the argument of log in (0, 1].
        let u1 = 1 - uniform()
        let u2 = uniform()
        let r = Double.sqrt(-2 * Double.log(u1))
        let angle = 2 * Double.pi * u2
        spareNormal = r * Double.sin(angle)
        return r * Double.cos(angle)
    }

    @inlinable
    public mutating func normal<T: TensorScalar>(_: T.Type = T.self) -> T {
        T(normal())
    }

    /// An index drawn with probability proportional to `weights` (non-negative, not all zero).
    @inlinable
    public mutating func categorical<T: BinaryFloatingPoint>(_ weights: [T]) -> Int {
        var total = 0.0
        for w in weights {
            precondition(w >= 0 && w.isFinite, "categorical weight \(w) is not a finite non-negative number")
            total += Double(w)
        }
        precondition(total > 0, "categorical weights sum to zero")
        let target = uniform() * total
        var cumulative = 0.0
        for (i, w) in weights.enumerated() {
            cumulative += Double(w)
            if target < cumulative { return i }
        }
        return weights.lastIndex { $0 > 0 }!
    }

    /// A uniformly random permutation of `0..<n` (Fisher–Yates).
    public mutating func permutation(_ n: Int) -> [Int] {
        var p = Array(0..<n)
        var i = n - 1
        while i > 0 {
            let j = Int(next() % UInt64(i + 1))
            p.swapAt(i, j)
            i -= 1
        }
        return p
    }

    /// A matrix of independent standard normals.
    @inlinable
    public mutating func normalMatrix<T: TensorScalar>(rows: Int, cols: Int, _: T.Type = T.self) -> Matrix<T> {
        Matrix(rows: rows, cols: cols) { out in
            for i in 0..<out.count { out[i] = T(normal()) }
        }
    }

    /// A matrix of independent uniforms on [low, high).
    @inlinable
    public mutating func uniformMatrix<T: TensorScalar>(rows: Int, cols: Int, low: T = 0, high: T = 1) -> Matrix<T> {
        Matrix(rows: rows, cols: cols) { out in
            for i in 0..<out.count { out[i] = uniform(in: low, high) }
        }
    }
}
