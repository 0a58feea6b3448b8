/// Where a simulation goes when a round's pairs are read for training: by task id, with a
/// trailing number compared as a number (`…/9` before `…/10`), ties in arrival order.
/// `ili run`'s task ids share the round's prefix, so its pairs come in task-number order
/// whichever worker committed first: training must not depend on who finished first.
struct TaskOrder: Comparable {
    /// The id without its trailing digits.
    let prefix: [UInt8]
    /// The trailing number, or -1 when the id does not end in a digit.
    let number: Int
    let arrival: Int

    init(_ taskId: UnsafeRawBufferPointer, arrival: Int) {
        self.arrival = arrival
        var digits = 0, n = 0, scale = 1
        for byte in taskId.reversed() {
            guard byte >= 48, byte <= 57, digits < 18 else { break }
            n += Int(byte - 48) * scale
            scale *= 10
            digits += 1
        }
        prefix = Array(taskId[0..<(taskId.count - digits)])
        number = digits > 0 ? n : -1
    }

    static func < (a: TaskOrder, b: TaskOrder) -> Bool {
        if a.prefix != b.prefix { return a.prefix.lexicographicallyPrecedes(b.prefix) }
        if a.number != b.number { return a.number < b.number }
        return a.arrival < b.arrival
    }

    /// Reorders rows `rows` of the row-major `theta` and `x` (one entry of `order` per row,
    /// in the rows' current order) into task order.
    static func sort(rows: Range<Int>, by order: [TaskOrder], theta: inout [Float], thetaWidth: Int, x: inout [Float], xWidth: Int) {
        precondition(order.count == rows.count)
        let permutation = order.indices.sorted { order[$0] < order[$1] }
        guard permutation != Array(order.indices) else { return }
        reorder(&theta, rows: rows, width: thetaWidth, permutation: permutation)
        reorder(&x, rows: rows, width: xWidth, permutation: permutation)
    }

    private static func reorder(_ values: inout [Float], rows: Range<Int>, width: Int, permutation: [Int]) {
        let base = rows.lowerBound * width
        let old = Array(values[base..<(base + rows.count * width)])
        for (slot, source) in permutation.enumerated() {
            for j in 0..<width { values[base + slot * width + j] = old[source * width + j] }
        }
    }
}
