import Foundation
import ILITensor

/// Runs `count` independent jobs on up to `threads` threads at once and returns their
/// results in job order. Each job must touch only state it creates itself.
func runJobs<Result>(_ count: Int, threads: Int, _ job: @escaping @Sendable (Int) throws -> Result) throws -> [Result] {
    let results = JobResults<Result>(count: count)
    RowParallelism.withWidth(threads) {
        RowParallelism.forEach(count) { i in results.set(i, Swift.Result { try job(i) }) }
    }
    return try results.values()
}

/// Results slots written by concurrent jobs; the lock guards `slots`.
private final class JobResults<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [Swift.Result<Value, Error>?]

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func set(_ i: Int, _ r: Swift.Result<Value, Error>) {
        lock.lock(); defer { lock.unlock() }
        slots[i] = r
    }

    func values() throws -> [Value] {
        lock.lock(); defer { lock.unlock() }
        return try slots.map { try $0!.get() }
    }
}
