import RealModule

/// How a DeepSets layer combines the per-point features of one set.
public enum SetPooling: String, Codable, Sendable, CaseIterable {
    /// The sum over the set's points: keeps the set's size (an abundance, a count).
    case sum
    /// The mean over the set's points: forgets the size, keeps the composition. The mean of
    /// an empty set is taken to be zero.
    case mean
}

/// Where the points of a padded set live in a flat row of x.
///
/// A row holds `maxPoints` slots of `1 + pointFeatures` values each, slot after slot:
/// `[present, f₁, …, f_F]`. `present` is 1 for a real point and 0 for an empty slot (a
/// value above ½ counts as present); an empty slot's features are never read, so any
/// finite value may fill them. Real points may sit in any slots, in any order. The flag
/// cannot be confused with data the way a sentinel value could (and NaN is not an option:
/// rows with NaN are dropped as failed simulations).
public struct SetLayout: Sendable, Equatable {
    public var maxPoints: Int
    public var pointFeatures: Int

    public init(maxPoints: Int, pointFeatures: Int) {
        self.maxPoints = maxPoints
        self.pointFeatures = pointFeatures
    }

    /// Values per slot: the presence flag and the features.
    @inlinable public var slotWidth: Int { pointFeatures + 1 }
    /// Values per row.
    @inlinable public var valueCount: Int { maxPoints * slotWidth }
    /// The column of slot `slot`'s presence flag; its features follow it.
    @inlinable public func flagColumn(_ slot: Int) -> Int { slot * slotWidth }
    /// Whether a flag value marks a real point.
    @inlinable public static func isPresent<Scalar: TensorScalar>(_ flag: Scalar) -> Bool { flag > Scalar(0.5) }

    /// Writes the points of one set (each `pointFeatures` long) into a row of `valueCount`
    /// values, in the first slots; the other slots are left empty with zero features.
    public func row(_ points: [[Double]]) -> [Double] {
        precondition(points.count <= maxPoints, "\(points.count) points do not fit \(maxPoints) slots")
        var row = [Double](repeating: 0, count: valueCount)
        for (slot, point) in points.enumerated() {
            precondition(point.count == pointFeatures, "a point of \(point.count) features in a layout of \(pointFeatures)")
            row[flagColumn(slot)] = 1
            for (f, value) in point.enumerated() { row[flagColumn(slot) + 1 + f] = value }
        }
        return row
    }
}

/// The features of every real point of a batch of padded sets, one point per row
/// (R × pointFeatures for R real points in all), and for each point the batch row it came
/// from. One tape node; its backward scatters into the features' columns (the flags get no
/// gradient: they only select).
@inlinable
public func gatherSetPoints<Scalar>(_ x: Variable<Scalar>, layout: SetLayout) -> (points: Variable<Scalar>, owners: [Int]) {
    let xv = x.value
    precondition(xv.cols == layout.valueCount,
                 "set input \(xv.shapeDescription): rows must hold \(layout.maxPoints) slots of 1 + \(layout.pointFeatures) values")
    let f = layout.pointFeatures
    // The column of each real point's first feature.
    var sources: [Int] = []
    var owners: [Int] = []
    for b in 0..<xv.rows {
        for slot in 0..<layout.maxPoints {
            let flag = b * xv.cols + layout.flagColumn(slot)
            if SetLayout.isPresent(xv.storage[flag]) {
                sources.append(flag + 1)
                owners.append(b)
            }
        }
    }
    let points = Matrix<Scalar>(rows: sources.count, cols: f) { out in
        xv.storage.withUnsafeBufferPointer { src in
            for (r, start) in sources.enumerated() {
                for j in 0..<f { out[r * f + j] = src[start + j] }
            }
        }
    }
    let variable = x.tape.record(points, inputs: x) { tape, g in
        var gx = Matrix<Scalar>(rows: xv.rows, cols: xv.cols, repeating: 0)
        for (r, start) in sources.enumerated() {
            for j in 0..<f { gx.storage[start + j] += g.storage[r * f + j] }
        }
        tape.accumulateGradient(gx, into: x)
    }
    return (variable, owners)
}

/// The sum or mean of the rows of `h` (R × H) that belong to each of `setCount` sets
/// (`owners[r]` is row r's set): setCount × H. An empty set pools to zeros. One tape node.
@inlinable
public func poolSets<Scalar>(_ h: Variable<Scalar>, owners: [Int], setCount: Int, pooling: SetPooling) -> Variable<Scalar> {
    let hv = h.value
    let n = hv.cols
    precondition(owners.count == hv.rows, "\(owners.count) owners for \(hv.rows) points")
    var sizes = [Int](repeating: 0, count: setCount)
    for owner in owners { sizes[owner] += 1 }
    // What each of a set's points is weighed by: 1 for a sum, 1/size for a mean.
    let weights = sizes.map { size -> Scalar in pooling == .mean && size > 0 ? 1 / Scalar(size) : 1 }
    var pooled = Matrix<Scalar>(rows: setCount, cols: n, repeating: 0)
    pooled.storage.withUnsafeMutableBufferPointer { out in
        hv.storage.withUnsafeBufferPointer { src in
            for (r, owner) in owners.enumerated() {
                let w = weights[owner]
                for j in 0..<n { out[owner * n + j] += w * src[r * n + j] }
            }
        }
    }
    return h.tape.record(pooled, inputs: h) { tape, g in
        let gh = Matrix<Scalar>(rows: hv.rows, cols: n) { out in
            for (r, owner) in owners.enumerated() {
                let w = weights[owner]
                for j in 0..<n { out[r * n + j] = w * g.storage[owner * n + j] }
            }
        }
        tape.accumulateGradient(gh, into: h)
    }
}

/// A DeepSets network (Zaheer et al. 2017) over padded sets: a per-point network φ with
/// shared weights applied to every real point, a sum or mean over each set's points, and a
/// network ρ of the pooled features. Its output depends neither on the order of the points
/// nor on how many empty slots pad them, nor on what the empty slots hold.
///
/// φ applies `activation` after every layer (pooling raw linear features would only give
/// ρ the set's first moments); ρ applies it between layers, none after the last, like an
/// embedding's last dense layer.
///
/// ```swift
/// let sets = DeepSetsLayer<Float>(layout: .init(maxPoints: 64, pointFeatures: 4), pooling: .sum,
///                                 phi: [32, 32], rho: [32, 8], activation: .relu, rng: &rng, name: "embedding.0")
/// let features = sets(x)      // m × 8
/// ```
public final class DeepSetsLayer<Scalar: TensorScalar> {
    public let layout: SetLayout
    public let pooling: SetPooling
    public let phi: [Linear<Scalar>]
    public let rho: [Linear<Scalar>]
    public let activation: Activation

    public init(layout: SetLayout, pooling: SetPooling, phi phiWidths: [Int], rho rhoWidths: [Int],
                activation: Activation, rng: inout RandomSource, name: String) {
        precondition(!phiWidths.isEmpty, "a DeepSets layer needs at least one φ layer")
        self.layout = layout
        self.pooling = pooling
        self.activation = activation
        var phi: [Linear<Scalar>] = []
        var fanIn = layout.pointFeatures
        for (k, width) in phiWidths.enumerated() {
            phi.append(Linear(inputs: fanIn, outputs: width, rng: &rng, name: "\(name).phi.\(k)"))
            fanIn = width
        }
        var rho: [Linear<Scalar>] = []
        for (k, width) in rhoWidths.enumerated() {
            rho.append(Linear(inputs: fanIn, outputs: width, rng: &rng, name: "\(name).rho.\(k)"))
            fanIn = width
        }
        self.phi = phi
        self.rho = rho
    }

    public var parameters: [Parameter<Scalar>] { (phi + rho).flatMap(\.parameters) }

    /// Features per output row: ρ's last width, or φ's without ρ.
    public var outputCount: Int { (rho.last ?? phi.last!).outputCount }

    @inlinable
    public func callAsFunction(_ x: Variable<Scalar>) -> Variable<Scalar> {
        let (points, owners) = gatherSetPoints(x, layout: layout)
        var pooled: Variable<Scalar>
        if points.rows == 0 {
            // No set in the batch has a point: every pooled feature is zero (and φ sees nothing).
            pooled = x.tape.constant(Matrix(rows: x.rows, cols: phi.last!.outputCount, repeating: 0))
        } else {
            var h = points
            for layer in phi { h = layer(h, activation: activation) }
            pooled = poolSets(h, owners: owners, setCount: x.rows, pooling: pooling)
        }
        for (k, layer) in rho.enumerated() {
            pooled = layer(pooled, activation: k < rho.count - 1 ? activation : .identity)
        }
        return pooled
    }
}

extension Standardization {
    /// A z-scoring of padded sets that keeps the set structure: each point feature gets one
    /// mean and standard deviation, over the real points of every row and slot, shared by all
    /// slots (per-slot statistics would treat the same point differently in different slots
    /// and break permutation invariance); the presence flags are left as they are (mean 0,
    /// std 1) so that the DeepSets layer still reads them. Deviations below
    /// `minimumStandardDeviation` are raised to it; with fewer than two real points, the identity.
    public static func fittedToSets(_ data: Matrix<Scalar>, layout: SetLayout,
                                    minimumStandardDeviation: Scalar = 1e-7) -> Standardization {
        precondition(data.cols == layout.valueCount, "set data \(data.shapeDescription) for \(layout.maxPoints) slots of 1 + \(layout.pointFeatures) values")
        let f = layout.pointFeatures
        // The first feature's column of every real point.
        var starts: [Int] = []
        for i in 0..<data.rows {
            for slot in 0..<layout.maxPoints {
                let flag = i * data.cols + layout.flagColumn(slot)
                if SetLayout.isPresent(data.storage[flag]) { starts.append(flag + 1) }
            }
        }
        let count = starts.count
        var means = [Double](repeating: 0, count: f)
        var squares = [Double](repeating: 0, count: f)
        for start in starts {
            for j in 0..<f { means[j] += Double(data.storage[start + j]) }
        }
        for j in 0..<f { means[j] /= Double(Swift.max(count, 1)) }
        for start in starts {
            for j in 0..<f {
                let r = Double(data.storage[start + j]) - means[j]
                squares[j] += r * r
            }
        }
        var mean = Matrix<Scalar>(rows: 1, cols: data.cols, repeating: 0)
        var std = Matrix<Scalar>(rows: 1, cols: data.cols, repeating: 1)
        guard count >= 2 else { return Standardization(mean: mean, standardDeviation: std) }
        for slot in 0..<layout.maxPoints {
            for j in 0..<f {
                let column = layout.flagColumn(slot) + 1 + j
                mean.storage[column] = Scalar(means[j])
                std.storage[column] = Swift.max(Scalar((squares[j] / Double(count - 1)).squareRoot()), minimumStandardDeviation)
            }
        }
        return Standardization(mean: mean, standardDeviation: std)
    }

    /// The z-scoring of an estimator's input as its embedding needs it: per point feature for
    /// an embedding that starts with a DeepSets layer (`fittedToSets`), otherwise `fitted`.
    public static func fitted(to data: Matrix<Scalar>, structured: Bool, embedding: EmbeddingConfiguration?) -> Standardization {
        if let layout = embedding?.setLayout { return fittedToSets(data, layout: layout) }
        return fitted(to: data, structured: structured)
    }
}
