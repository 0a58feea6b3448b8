import RealModule

/// Element-wise functions. Each derivative is written in terms of the input `x` and
/// the output `y`, whichever is cheaper.
extension Variable {
    /// Records `f` applied element-wise, with `derivative(x, y)` = dy/dx.
    @inlinable
    public func elementwise(_ f: (Scalar) -> Scalar,
                            derivative: @escaping (_ x: Scalar, _ y: Scalar) -> Scalar) -> Variable {
        let x = value
        let y = x.map(f)
        return tape.record(y, inputs: self) { tape, g in
            tape.accumulateGradient(g.zip(x, y) { g, x, y in g * derivative(x, y) }, into: self)
        }
    }

    @inlinable public func exp() -> Variable {
        let x = value
        let y = x.bulk(Scalar.exp)
        return tape.record(y, inputs: self) { tape, g in
            tape.accumulateGradient(g.zip(y, *), into: self)
        }
    }

    @inlinable public func log() -> Variable {
        elementwise({ Scalar.log($0) }) { x, _ in 1 / x }
    }

    @inlinable public func tanh() -> Variable {
        let y = value.bulk(Scalar.tanh)
        return tape.record(y, inputs: self) { tape, g in
            tape.accumulateGradient(g.zip(y) { g, y in g * (1 - y * y) }, into: self)
        }
    }

    @inlinable public func relu() -> Variable {
        // Plain loops over the buffers: the generic closure path costs several times more,
        // and relu sits between every pair of layers of a residual classifier. Into fresh
        // buffers: in place, the compiler makes the zeroing a conditional store, which runs
        // scalar or as masked stores that AMD cores microcode.
        let x = value
        let y = Matrix<Scalar>(rows: x.rows, cols: x.cols) { out in
            x.storage.withUnsafeBufferPointer { xv in
                for i in out.indices { out[i] = xv[i] > 0 ? xv[i] : 0 }
            }
        }
        return tape.record(y, inputs: self) { tape, g in
            let gx = Matrix<Scalar>(rows: g.rows, cols: g.cols) { out in
                g.storage.withUnsafeBufferPointer { gv in
                    y.storage.withUnsafeBufferPointer { yv in
                        for i in out.indices { out[i] = yv[i] > 0 ? gv[i] : 0 }
                    }
                }
            }
            tape.accumulateGradient(gx, into: self)
        }
    }

    /// ELU with scale `alpha`: x for x > 0, alpha·(eˣ − 1) otherwise.
    @inlinable public func elu(alpha: Scalar = 1) -> Variable {
        elementwise({ $0 > 0 ? $0 : alpha * Scalar.expMinusOne($0) }) { x, y in x > 0 ? 1 : y + alpha }
    }

    /// SiLU (swish): x·σ(x).
    @inlinable public func silu() -> Variable {
        elementwise({ $0 * Self.sigmoid($0) }) { x, _ in
            let s = Self.sigmoid(x)
            return s * (1 + x * (1 - s))
        }
    }

    /// GELU in its exact form x·Φ(x), as PyTorch's default.
    @inlinable public func gelu() -> Variable {
        let invSqrt2 = 1 / Scalar.sqrt(2)
        let invSqrt2Pi = 1 / Scalar.sqrt(2 * Scalar.pi)
        return elementwise({ x in x * (1 + Scalar.erf(x * invSqrt2)) / 2 }) { x, _ in
            (1 + Scalar.erf(x * invSqrt2)) / 2 + x * invSqrt2Pi * Scalar.exp(-x * x / 2)
        }
    }

    @inlinable public func sigmoid() -> Variable {
        let y = value.bulk(Scalar.sigmoid)
        return tape.record(y, inputs: self) { tape, g in
            tape.accumulateGradient(g.zip(y) { g, y in g * y * (1 - y) }, into: self)
        }
    }

    /// log σ(x) = −softplus(−x), without overflow for large |x|.
    @inlinable public func logSigmoid() -> Variable {
        elementwise({ -Self.softplus(-$0) }) { x, _ in Self.sigmoid(-x) }
    }

    /// log(1 + eˣ), without overflow for large x.
    @inlinable public func softplus() -> Variable {
        elementwise(Self.softplus) { x, _ in Self.sigmoid(x) }
    }

    @inlinable public func square() -> Variable {
        elementwise({ $0 * $0 }) { x, _ in 2 * x }
    }

    @inlinable public func sqrt() -> Variable {
        elementwise({ Scalar.sqrt($0) }) { _, y in 1 / (2 * y) }
    }

    @inlinable public func abs() -> Variable {
        elementwise(Swift.abs) { x, _ in x > 0 ? 1 : (x < 0 ? -1 : 0) }
    }

    @inlinable
    public static func sigmoid(_ x: Scalar) -> Scalar {
        if x >= 0 { return 1 / (1 + Scalar.exp(-x)) }
        let e = Scalar.exp(x)
        return e / (1 + e)
    }

    @inlinable
    public static func softplus(_ x: Scalar) -> Scalar {
        Swift.max(x, 0) + Scalar.log(onePlus: Scalar.exp(-Swift.abs(x)))
    }
}
