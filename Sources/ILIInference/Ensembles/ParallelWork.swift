import Dispatch
import Foundation

/// Runs `count` independent jobs, in parallel threads when `parallel`, and returns their
/// results in job order. Each job must touch only state it creates itself.
func runJobs<Result>(_ count: Int, parallel: Bool, _ job: @escaping @Sendable (Int) throws -> Result) throws -> [Result] {
    let results = JobResults<Result>(count: count)
    if parallel && count > 1 {
        DispatchQueue.concurrentPerform(iterations: count) { i in
            results.set(i, Swift.Result { try job(i) })
        }
    } else {
        for i in 0..<count { results.set(i, Swift.Result { try job(i) }) }
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
