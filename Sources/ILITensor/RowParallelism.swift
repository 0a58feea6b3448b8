import Dispatch
import Foundation

/// How many threads one network evaluation may split its rows over, and the split.
///
/// A training step at sbi's sizes is a millisecond of small products that OpenBLAS's own
/// threads cannot speed up, but its rows can be cut into chunks that threads evaluate side
/// by side. Operations that do so (`residualStack`) cut rows into chunks of a fixed size
/// and add up per-chunk results in chunk order, so the numbers are the same whatever
/// the width; the width only decides how many threads share the chunks.
///
/// The width is the process default (`ILI_THREADS`, else every active core) unless a
/// caller binds another for the code it runs; ensemble members trained side by side each
/// run with their share of the cores.
///
/// ```swift
/// RowParallelism.withWidth(1) { train(member) }       // this member: one thread
/// RowParallelism.forEach(chunks.count) { c in evaluate(chunks[c]) }
/// ```
public enum RowParallelism {
    /// `ILI_THREADS` when set to a positive integer, else the number of active cores.
    public static let processDefault: Int = width(
        fromEnvironment: ProcessInfo.processInfo.environment["ILI_THREADS"], cores: ProcessInfo.processInfo.activeProcessorCount)

    /// The width an `ILI_THREADS` value asks for: a positive whole number as written, and
    /// `cores` for anything else (unset, empty, zero, negative or not a number).
    public static func width(fromEnvironment value: String?, cores: Int) -> Int {
        if let value, let n = Int(value), n > 0 { return n }
        return cores
    }

    @TaskLocal static var boundWidth: Int?

    /// The number of threads an operation called from here may use.
    public static var width: Int { boundWidth ?? processDefault }

    /// Runs `body` with `width` threads per operation (at least one).
    ///
    /// The binding belongs to the calling thread: threads that Dispatch starts, `forEach`'s
    /// own among them, see the process default, so code that starts threads binds the width
    /// again inside them (as ensemble training does for each member).
    public static func withWidth<T>(_ width: Int, _ body: () throws -> T) rethrows -> T {
        try $boundWidth.withValue(max(1, width)) { try body() }
    }

    /// Calls `body(i)` for every `i` in `0..<count` on up to `width` threads, the calling
    /// thread among them, and returns when all calls have. Calls must touch disjoint state,
    /// and may run in any order on any of the threads (`RowThreadPool`'s, or Dispatch's
    /// when the pool is already busy).
    public static func forEach(_ count: Int, _ body: (Int) -> Void) {
        let threads = min(width, count)
        guard threads > 1 else {
            for i in 0..<count { body(i) }
            return
        }
        if RowThreadPool.shared.run(count, threads: threads, body) { return }
        withoutActuallyEscaping(body) { body in
            let shared = UncheckedSendable(body)
            DispatchQueue.concurrentPerform(iterations: threads) { t in
                for i in stride(from: t, to: count, by: threads) { shared.value(i) }
            }
        }
    }
}

extension RowParallelism {
    /// `body(i)` for every `i` in `0..<count`, on up to `width` threads as `forEach` runs
    /// them, returned in index order. Each call is already one thread's work, so operations
    /// inside it run with width 1 instead of splitting their rows again.
    ///
    /// Callers that cut work into fixed blocks (training chunks, network-term blocks) get the
    /// blocks' results in the same order at any width, which keeps their sums the same bits.
    // Inlinable so callers get it specialized: generic, each call looked up the metadata
    // of `[T?]` at run time, on the serial path of every training step.
    @inlinable
    public static func map<T>(_ count: Int, _ body: (Int) -> T) -> [T] {
        var results = [T?](repeating: nil, count: count)
        results.withUnsafeMutableBufferPointer { slots in
            let slots = slots
            forEach(count) { i in slots[i] = withWidth(1) { body(i) } }
        }
        return results.map { $0! }
    }
}

/// Hands a value that is safe by construction (here: a closure whose calls touch disjoint
/// state) to `concurrentPerform`.
private struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
