import RealModule

/// A smoothed 2-D histogram of samples, the levels that enclose given probability masses,
/// and the contour lines at those levels (marching squares).
///
/// ```swift
/// let grid = DensityGrid(x: xs, y: ys, xRange: (-3, 3), yRange: (-3, 3), bins: 40)
/// let levels = grid.levels(enclosing: [0.68, 0.95])
/// let segments = grid.contour(at: levels[0])   // pairs of data-space points
/// ```
public struct DensityGrid: Sendable {
    public let bins: Int
    public let xRange: (low: Double, high: Double)
    public let yRange: (low: Double, high: Double)
    /// Smoothed counts, row-major by y then x: `values[iy * bins + ix]`.
    public private(set) var values: [Double]

    /// Bins the points and smooths with a Gaussian kernel of `smoothing` bins' width, which
    /// takes the noise out of the contours of a few thousand samples.
    public init(x: [Double], y: [Double], xRange: (Double, Double), yRange: (Double, Double),
                bins: Int = 40, smoothing: Double = 1.2) {
        precondition(x.count == y.count, "a 2-D histogram needs as many x as y values")
        self.bins = bins
        self.xRange = (xRange.0, xRange.1)
        self.yRange = (yRange.0, yRange.1)
        var counts = [Double](repeating: 0, count: bins * bins)
        let xWidth = (xRange.1 - xRange.0) / Double(bins), yWidth = (yRange.1 - yRange.0) / Double(bins)
        for (a, b) in zip(x, y) {
            let ix = Int(((a - xRange.0) / xWidth).rounded(.down)), iy = Int(((b - yRange.0) / yWidth).rounded(.down))
            if ix >= 0 && ix < bins && iy >= 0 && iy < bins { counts[iy * bins + ix] += 1 }
        }
        values = smoothing > 0 ? Self.smoothed(counts, bins, smoothing) : counts
    }

    /// Separable Gaussian smoothing, truncated at three widths; mass leaving the grid is lost,
    /// which only lowers the density near edges.
    static func smoothed(_ counts: [Double], _ n: Int, _ sigma: Double) -> [Double] {
        let radius = Int((3 * sigma).rounded(.up))
        let kernel = (-radius...radius).map { Double.exp(-Double($0 * $0) / (2 * sigma * sigma)) }
        let total = kernel.reduce(0, +)
        let weights = kernel.map { $0 / total }
        var pass = [Double](repeating: 0, count: n * n)
        for iy in 0..<n {
            for ix in 0..<n {
                var s = 0.0
                for (k, w) in weights.enumerated() {
                    let jx = ix + k - radius
                    if jx >= 0 && jx < n { s += w * counts[iy * n + jx] }
                }
                pass[iy * n + ix] = s
            }
        }
        var out = [Double](repeating: 0, count: n * n)
        for iy in 0..<n {
            for ix in 0..<n {
                var s = 0.0
                for (k, w) in weights.enumerated() {
                    let jy = iy + k - radius
                    if jy >= 0 && jy < n { s += w * pass[jy * n + ix] }
                }
                out[iy * n + ix] = s
            }
        }
        return out
    }

    /// For each mass m, the density level whose super-level set holds a fraction m of the
    /// total: the highest-density region of credibility m, as the grid resolves it.
    public func levels(enclosing masses: [Double]) -> [Double] {
        let sorted = values.sorted(by: >)
        let total = sorted.reduce(0, +)
        guard total > 0 else { return masses.map { _ in .infinity } }
        return masses.map { m in
            var cumulative = 0.0
            for v in sorted {
                cumulative += v
                if cumulative >= m * total { return v }
            }
            return sorted.last ?? 0
        }
    }

    /// The cell centre of bin (ix, iy) in data coordinates.
    func center(_ ix: Int, _ iy: Int) -> (Double, Double) {
        (xRange.low + (Double(ix) + 0.5) * (xRange.high - xRange.low) / Double(bins),
         yRange.low + (Double(iy) + 0.5) * (yRange.high - yRange.low) / Double(bins))
    }

    func value(_ ix: Int, _ iy: Int) -> Double {
        // Outside the grid the density is zero, so contours close at the border.
        guard ix >= 0, ix < bins, iy >= 0, iy < bins else { return 0 }
        return values[iy * bins + ix]
    }

    /// Line segments of the contour at `level`, by marching squares over the cell centres
    /// (padded by one ring of zeros) with linear interpolation along cell edges.
    public func contour(at level: Double) -> [((Double, Double), (Double, Double))] {
        var segments: [((Double, Double), (Double, Double))] = []
        for iy in -1..<bins {
            for ix in -1..<bins {
                // Corners counter-clockwise from the lower left.
                let corners = [(ix, iy), (ix + 1, iy), (ix + 1, iy + 1), (ix, iy + 1)]
                let v = corners.map { value($0.0, $0.1) }
                let above = v.map { $0 >= level }
                if above.allSatisfy({ $0 }) || !above.contains(true) { continue }
                var crossings: [(Double, Double)] = []
                for e in 0..<4 where above[e] != above[(e + 1) % 4] {
                    let (a, b) = (corners[e], corners[(e + 1) % 4])
                    let t = (level - v[e]) / (v[(e + 1) % 4] - v[e])
                    let pa = center(a.0, a.1), pb = center(b.0, b.1)
                    crossings.append((pa.0 + t * (pb.0 - pa.0), pa.1 + t * (pb.1 - pa.1)))
                }
                if crossings.count == 2 {
                    segments.append((crossings[0], crossings[1]))
                } else if crossings.count == 4 {
                    // A saddle: the mean of the corners decides which pairs of crossings join.
                    let middleAbove = v.reduce(0, +) / 4 >= level
                    // Crossings lie on the bottom, right, top and left edges, in that order.
                    // When the middle sides with corner 0, corners 1 and 3 are cut off alone.
                    if middleAbove == above[0] {
                        segments.append((crossings[0], crossings[1]))
                        segments.append((crossings[2], crossings[3]))
                    } else {
                        segments.append((crossings[3], crossings[0]))
                        segments.append((crossings[1], crossings[2]))
                    }
                }
            }
        }
        return segments
    }
}
