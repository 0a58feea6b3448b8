/// Arithmetic with broadcasting: operands of equal shape, or with one of them a row
/// (1×n), a column (m×1) or a scalar (1×1), in either order.
extension Variable {
    @inlinable
    public static func + (a: Variable, b: Variable) -> Variable {
        let y = Matrix.broadcast(a.value, b.value, +)
        return a.tape.record(y, inputs: a, b) { tape, g in
            if tape.needsGradient(a) { tape.accumulateGradient(g.summed(toRows: a.rows, cols: a.cols), into: a) }
            if tape.needsGradient(b) { tape.accumulateGradient(g.summed(toRows: b.rows, cols: b.cols), into: b) }
        }
    }

    @inlinable
    public static func - (a: Variable, b: Variable) -> Variable {
        let y = Matrix.broadcast(a.value, b.value, -)
        return a.tape.record(y, inputs: a, b) { tape, g in
            if tape.needsGradient(a) { tape.accumulateGradient(g.summed(toRows: a.rows, cols: a.cols), into: a) }
            if tape.needsGradient(b) {
                var gb = g.summed(toRows: b.rows, cols: b.cols)
                gb.scale(by: -1)
                tape.accumulateGradient(gb, into: b)
            }
        }
    }

    @inlinable
    public static func * (a: Variable, b: Variable) -> Variable {
        let av = a.value, bv = b.value
        let y = Matrix.broadcast(av, bv, *)
        return a.tape.record(y, inputs: a, b) { tape, g in
            if tape.needsGradient(a) {
                tape.accumulateGradient(Matrix.broadcast(g, bv, *).summed(toRows: av.rows, cols: av.cols), into: a)
            }
            if tape.needsGradient(b) {
                tape.accumulateGradient(Matrix.broadcast(g, av, *).summed(toRows: bv.rows, cols: bv.cols), into: b)
            }
        }
    }

    @inlinable
    public static func / (a: Variable, b: Variable) -> Variable {
        let av = a.value, bv = b.value
        let y = Matrix.broadcast(av, bv, /)
        return a.tape.record(y, inputs: a, b) { tape, g in
            // With t = g / b: ∂a = t and ∂b = −t · y, each summed back to its operand's shape.
            let t = Matrix.broadcast(g, bv, /)
            if tape.needsGradient(a) { tape.accumulateGradient(t.summed(toRows: av.rows, cols: av.cols), into: a) }
            if tape.needsGradient(b) {
                tape.accumulateGradient(t.zip(y) { -$0 * $1 }.summed(toRows: bv.rows, cols: bv.cols), into: b)
            }
        }
    }

    @inlinable
    public static prefix func - (a: Variable) -> Variable {
        a.tape.record(a.value.map { -$0 }, inputs: a) { tape, g in
            tape.accumulateGradient(g.map { -$0 }, into: a)
        }
    }

    @inlinable
    public static func + (a: Variable, c: Scalar) -> Variable {
        a.tape.record(a.value.map { $0 + c }, inputs: a) { tape, g in
            tape.accumulateGradient(g, into: a)
        }
    }

    @inlinable
    public static func + (c: Scalar, a: Variable) -> Variable { a + c }

    @inlinable
    public static func - (a: Variable, c: Scalar) -> Variable { a + (-c) }

    @inlinable
    public static func - (c: Scalar, a: Variable) -> Variable {
        a.tape.record(a.value.map { c - $0 }, inputs: a) { tape, g in
            tape.accumulateGradient(g.map { -$0 }, into: a)
        }
    }

    @inlinable
    public static func * (a: Variable, c: Scalar) -> Variable {
        a.tape.record(a.value.map { $0 * c }, inputs: a) { tape, g in
            tape.accumulateGradient(g.map { $0 * c }, into: a)
        }
    }

    @inlinable
    public static func * (c: Scalar, a: Variable) -> Variable { a * c }

    @inlinable
    public static func / (a: Variable, c: Scalar) -> Variable { a * (1 / c) }
}
