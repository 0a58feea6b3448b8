import ILITensor

/// Paired simulations (θ, x) ready for training: finite rows only, in float32.
///
/// ```swift
/// let data = try SimulationDataset.load(theta: "theta.npy", x: "x.npy")
/// print(data.droppedRows)          // rows with NaN or ±∞, removed
/// let split = data.split(validationFraction: 0.1, rng: &rng)
/// ```
public struct SimulationDataset: Sendable {
    public let theta: Matrix<Float>
    public let x: Matrix<Float>
    /// How many input rows had a NaN or infinite value in θ or x and were dropped.
    public let droppedRows: Int

    public var count: Int { theta.rows }

    /// Keeps the rows of `theta` and `x` where every value is finite (float32 or float64;
    /// float32 rows are taken as they are).
    ///
    /// - Throws: `PosteriorError` when the row counts differ or nothing finite is left.
    public init<Scalar: TensorScalar>(theta: Matrix<Scalar>, x: Matrix<Scalar>, source: String = "the data") throws {
        guard theta.rows == x.rows else {
            throw PosteriorError(.shapeMismatch, "\(source): θ has \(theta.rows) rows but x has \(x.rows); they must pair row by row")
        }
        var keep: [Int] = []
        keep.reserveCapacity(theta.rows)
        for i in 0..<theta.rows {
            let finiteTheta = (0..<theta.cols).allSatisfy { theta[i, $0].isFinite }
            let finiteX = (0..<x.cols).allSatisfy { x[i, $0].isFinite }
            if finiteTheta && finiteX { keep.append(i) }
        }
        guard !keep.isEmpty else {
            throw PosteriorError(.emptyDataset, "\(source): no simulation is left after dropping \(theta.rows) rows with NaN or infinite values")
        }
        let all = keep.count == theta.rows
        self.theta = (all ? theta : theta.rows(at: keep)).converted(to: Float.self)
        self.x = (all ? x : x.rows(at: keep)).converted(to: Float.self)
        self.droppedRows = theta.rows - keep.count
    }

    /// Reads θ and x from `.npy` files (float32 or float64; a 1-D array is one column).
    public static func load(theta thetaPath: String, x xPath: String) throws -> SimulationDataset {
        func columns(_ file: NPYFile) -> Matrix<Double> {
            let m = file.matrix(as: Double.self)
            return file.isOneDimensional ? Matrix(rows: m.cols, cols: 1, m.storage) : m
        }
        let theta = columns(try NPYFile.read(thetaPath))
        let x = columns(try NPYFile.read(xPath))
        return try SimulationDataset(theta: theta, x: x, source: "\(thetaPath) and \(xPath)")
    }

    /// A seeded random split into training and validation row indices.
    /// At least one row goes to each side when there are two or more rows.
    public func split(validationFraction: Double, rng: inout RandomSource) -> (training: [Int], validation: [Int]) {
        Self.split(count: count, validationFraction: validationFraction, rng: &rng)
    }

    /// A seeded random split of `count` row indices, as `split(validationFraction:rng:)`.
    static func split(count: Int, validationFraction: Double, rng: inout RandomSource) -> (training: [Int], validation: [Int]) {
        let order = rng.permutation(count)
        var validationCount = Int((Double(count) * validationFraction).rounded())
        if count >= 2 { validationCount = min(max(validationCount, 1), count - 1) } else { validationCount = 0 }
        return (Array(order[validationCount...]), Array(order[..<validationCount]))
    }
}
