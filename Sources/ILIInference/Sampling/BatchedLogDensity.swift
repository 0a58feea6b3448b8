import ILITensor

/// Log-density of each row of a batch of points (n × d); −∞ allowed (outside support).
///
/// Rows are group-major: a group is one observation, and groups never interact. Every call
/// passes G·c rows for some c ≥ 1, and rows g·c ..< (g+1)·c belong to group g; c is the
/// number of chains in the first call but changes from call to call (the slice sampler
/// evaluates only the rows it needs and pads each group's block to the same size).
/// NaN and +∞ answers count as −∞: a sampler never moves to such a point.
///
/// ```swift
/// // Two groups (observations xs[0], xs[1]) of a Gaussian likelihood:
/// let target: BatchedLogDensity = { theta in
///     let perGroup = theta.rows / 2
///     return (0..<theta.rows).map { i in -0.5 * pow(theta[i, 0] - xs[i / perGroup], 2) }
/// }
/// ```
public typealias BatchedLogDensity = (Matrix<Double>) throws -> [Double]

/// The target as the samplers call it: counts calls and rows, checks the answer's length,
/// turns every non-finite value into −∞, and pads ragged per-group requests.
struct GroupedTarget {
    let function: BatchedLogDensity
    let groups: Int
    let dimension: Int
    private(set) var calls = 0
    private(set) var rows = 0

    init(_ function: @escaping BatchedLogDensity, groups: Int, dimension: Int) {
        self.function = function
        self.groups = groups
        self.dimension = dimension
    }

    /// The log-density of `points`, whose rows already form `groups` equal blocks.
    mutating func evaluate(_ points: Matrix<Double>) throws -> [Double] {
        precondition(points.rows % groups == 0 && points.cols == dimension)
        calls += 1
        rows += points.rows
        var values = try function(points)
        guard values.count == points.rows else {
            throw SamplerError(.shapeMismatch, "the target returned \(values.count) log-densities for \(points.rows) rows")
        }
        for i in values.indices where !values[i].isFinite { values[i] = -.infinity }
        return values
    }

    /// The log-density of per-group lists of rows (`blocks[g]` holds row-major points of
    /// group g), in one call: each group's block is padded to the longest with `filler(g)`,
    /// whose values are discarded. Returns one array of values per group.
    mutating func evaluate(blocks: [[Double]], filler: (Int) -> ArraySlice<Double>) throws -> [[Double]] {
        let d = dimension
        let width = blocks.map { $0.count / d }.max() ?? 0
        guard width > 0 else { return blocks.map { _ in [] } }
        var flat = [Double]()
        flat.reserveCapacity(groups * width * d)
        for g in 0..<groups {
            flat.append(contentsOf: blocks[g])
            let pad = width - blocks[g].count / d
            if pad > 0 {
                let row = filler(g)
                for _ in 0..<pad { flat.append(contentsOf: row) }
            }
        }
        let values = try evaluate(Matrix(rows: groups * width, cols: d, flat))
        return (0..<groups).map { g in Array(values[(g * width)..<(g * width + blocks[g].count / d)]) }
    }
}
