/// A record of the operations of one forward pass, replayed backwards to get gradients.
///
/// Each operation appends a node holding its value and, when any input needs a
/// gradient, a closure that turns the node's gradient into its inputs' gradients.
/// `backward(from:)` seeds the loss with 1 and runs the closures in reverse order;
/// parameters read through `tape.read(_:)` then have their gradients added.
///
/// ```swift
/// let tape = Tape<Float>()
/// let x = tape.constant(batch)
/// let h = x.linear(tape.read(w1), bias: tape.read(b1)).tanh()
/// let loss = h.square().mean()
/// tape.backward(from: loss)        // w1.gradient, b1.gradient are now set
/// ```
///
/// A tape is used by one thread at a time; ensembles train with one tape per thread.
public final class Tape<Scalar: TensorScalar> {
    public typealias Backward = (_ tape: Tape<Scalar>, _ outputGradient: Matrix<Scalar>) -> Void

    @usableFromInline var values: [Matrix<Scalar>] = []
    @usableFromInline var gradients: [Matrix<Scalar>?] = []
    @usableFromInline var needsGradient: [Bool] = []
    @usableFromInline var backwards: [Backward?] = []
    @usableFromInline var boundParameters: [(node: Int, parameter: Parameter<Scalar>)] = []
    /// Whether parameters read from this tape get gradients. A tape that only evaluates
    /// (validation, sampling) reads them as constants, so operations record no backward
    /// and fused ones keep no intermediates.
    public let recordsGradients: Bool

    /// A tape; `recordsGradients: false` for evaluation only (`read(_:)` then gives constants;
    /// `input(_:)` still asks for a gradient).
    public init(recordsGradients: Bool = true) {
        self.recordsGradients = recordsGradients
    }

    /// The number of recorded nodes.
    public var count: Int { values.count }

    /// Forgets every node, keeping the storage for the next pass.
    public func reset() {
        values.removeAll(keepingCapacity: true)
        gradients.removeAll(keepingCapacity: true)
        needsGradient.removeAll(keepingCapacity: true)
        backwards.removeAll(keepingCapacity: true)
        boundParameters.removeAll(keepingCapacity: true)
    }

    // MARK: Leaves

    /// A value that needs no gradient (data, masks, fixed weights).
    @inlinable
    public func constant(_ value: Matrix<Scalar>) -> Variable<Scalar> {
        appendNode(value, needsGradient: false, backward: nil)
    }

    /// A leaf whose gradient `gradient(of:)` returns after `backward`.
    @inlinable
    public func input(_ value: Matrix<Scalar>) -> Variable<Scalar> {
        appendNode(value, needsGradient: true, backward: nil)
    }

    /// The parameter's current value; `backward` adds its gradient to `parameter.gradient`
    /// (on a tape that records gradients; otherwise a constant).
    @inlinable
    public func read(_ parameter: Parameter<Scalar>) -> Variable<Scalar> {
        guard recordsGradients else { return constant(parameter.value) }
        let v = appendNode(parameter.value, needsGradient: true, backward: nil)
        boundParameters.append((v.id, parameter))
        return v
    }

    // MARK: Recording operations

    /// Records the result of an operation on `inputs`.
    ///
    /// `backward` receives the gradient of the result and must add each input's gradient
    /// with `accumulateGradient(_:into:)` or `accumulateProduct(into:...)`, for the inputs
    /// where `needsGradient(_:)` is true. It is dropped when no input needs a gradient.
    /// This is the extension point for fused operations with a hand-written backward.
    @inlinable
    public func record(_ value: Matrix<Scalar>, inputs: Variable<Scalar>...,
                       backward: @escaping Backward) -> Variable<Scalar> {
        record(value, inputs: inputs, backward: backward)
    }

    @inlinable
    public func record(_ value: Matrix<Scalar>, inputs: [Variable<Scalar>],
                       backward: @escaping Backward) -> Variable<Scalar> {
        var needs = false
        for input in inputs {
            precondition(input.tape === self, "an operation mixes variables of two tapes")
            if needsGradient[input.id] { needs = true; break }
        }
        return appendNode(value, needsGradient: needs, backward: needs ? backward : nil)
    }

    @inlinable
    func appendNode(_ value: Matrix<Scalar>, needsGradient needs: Bool, backward: Backward?) -> Variable<Scalar> {
        let id = values.count
        values.append(value)
        gradients.append(nil)
        needsGradient.append(needs)
        backwards.append(backward)
        return Variable(tape: self, id: id)
    }

    // MARK: Gradients

    /// Whether gradients must flow into `variable`.
    @inlinable
    public func needsGradient(_ variable: Variable<Scalar>) -> Bool {
        needsGradient[variable.id]
    }

    @inlinable
    public func value(of variable: Variable<Scalar>) -> Matrix<Scalar> {
        values[variable.id]
    }

    /// The gradient reached `variable` in the last `backward`, if any.
    public func gradient(of variable: Variable<Scalar>) -> Matrix<Scalar>? {
        gradients[variable.id]
    }

    /// Adds `gradient` to the gradient of `variable` (shapes must match).
    @inlinable
    public func accumulateGradient(_ gradient: Matrix<Scalar>, into variable: Variable<Scalar>) {
        let id = variable.id
        guard needsGradient[id] else { return }
        precondition(gradient.rows == values[id].rows && gradient.cols == values[id].cols,
                     "gradient \(gradient.shapeDescription) for a \(values[id].shapeDescription) value")
        if gradients[id] == nil {
            gradients[id] = gradient
        } else {
            gradients[id]!.storage.withUnsafeMutableBufferPointer { acc in
                gradient.storage.withUnsafeBufferPointer { g in
                    for i in 0..<acc.count { acc[i] += g[i] }
                }
            }
        }
    }

    /// Adds `alpha · op(a) · op(b)` to the gradient of `variable` with one gemm.
    @inlinable
    public func accumulateProduct(into variable: Variable<Scalar>, _ a: Matrix<Scalar>, _ b: Matrix<Scalar>,
                                  transposeA: Bool = false, transposeB: Bool = false, alpha: Scalar = 1) {
        let id = variable.id
        guard needsGradient[id] else { return }
        if gradients[id] == nil {
            var p = Matrix.product(a, b, transposeA: transposeA, transposeB: transposeB)
            if alpha != 1 { p.scale(by: alpha) }
            gradients[id] = p
        } else {
            gradients[id]!.addProduct(a, b, transposeA: transposeA, transposeB: transposeB, alpha: alpha, beta: 1)
        }
    }

    /// Back-propagates from `loss`, seeding its gradient with ones (so a non-scalar
    /// loss back-propagates its sum), then adds each read parameter's gradient to it.
    @inlinable
    public func backward(from loss: Variable<Scalar>) {
        for (parameter, g) in parameterGradients(from: loss) { parameter.accumulateGradient(g) }
    }

    /// Back-propagates from `loss` with its gradient seeded with `seed`, and returns each
    /// parameter read on this tape with its gradient (in reading order, once per read),
    /// leaving the parameters untouched.
    ///
    /// Tapes evaluating parts of one batch on several threads use this, so that their
    /// shares can be added to the parameters afterwards in a fixed order: writing to the
    /// shared parameters from each thread would race, and adding in arrival order would
    /// make the sum depend on timing.
    public func parameterGradients(from loss: Variable<Scalar>, seed: Scalar = 1) -> [(parameter: Parameter<Scalar>, gradient: Matrix<Scalar>)] {
        precondition(loss.tape === self, "backward from a variable of another tape")
        accumulateGradient(Matrix<Scalar>(rows: loss.rows, cols: loss.cols, repeating: seed), into: loss)
        var i = loss.id
        while i >= 0 {
            if let backward = backwards[i], let g = gradients[i] {
                backward(self, g)
                // Intermediate gradients are not needed again; free them as we go.
                gradients[i] = nil
            }
            i -= 1
        }
        return boundParameters.compactMap { node, parameter in gradients[node].map { (parameter, $0) } }
    }
}

/// A node of a `Tape`: a matrix value that operations can be applied to.
///
/// A variable refers to its tape without owning it: the tape's backward closures hold
/// variables, and an owning reference would make every tape a reference cycle that is
/// never freed. Keep the tape alive while its variables are in use.
public struct Variable<Scalar: TensorScalar> {
    public unowned let tape: Tape<Scalar>
    public let id: Int

    @inlinable
    init(tape: Tape<Scalar>, id: Int) {
        self.tape = tape
        self.id = id
    }

    @inlinable public var value: Matrix<Scalar> { tape.values[id] }
    @inlinable public var rows: Int { tape.values[id].rows }
    @inlinable public var cols: Int { tape.values[id].cols }
    @inlinable public var shapeDescription: String { tape.values[id].shapeDescription }

    /// A constant of the same tape.
    @inlinable
    public func constant(_ m: Matrix<Scalar>) -> Variable { tape.constant(m) }
}
