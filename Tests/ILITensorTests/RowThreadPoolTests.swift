import Foundation
@testable import ILITensor
import XCTest

final class RowThreadPoolTests: XCTestCase {
    /// Thousands of back-to-back jobs of every size, as a training run's steps: each index
    /// runs once per job, and jobs after the workers have gone to sleep still complete.
    func testEveryIndexOfEveryJobRunsOnceWhetherWorkersSpinOrSleep() {
        let pool = RowThreadPool(workers: 3)
        for round in 0..<3 {
            for job in 0..<2000 {
                let count = 1 + job % 37
                let counts = Counts(count)
                XCTAssertTrue(pool.run(count, threads: 4) { counts.add($0) })
                XCTAssertEqual(counts.values, Array(repeating: 1, count: count), "round \(round), job \(job)")
            }
            // Longer than the spin: the next round starts with every worker asleep.
            Thread.sleep(forTimeInterval: 0.01)
        }
    }

    /// The workers take chunks (the pool is not the caller alone), but no more threads at
    /// once than the caller's width allows.
    func testWorkersTakeChunksUpToTheCallersWidth() {
        let pool = RowThreadPool(workers: 3)
        let tracker = ConcurrencyTracker()
        for _ in 0..<20 {
            XCTAssertTrue(pool.run(8, threads: 2) { _ in
                tracker.enter()
                Thread.sleep(forTimeInterval: 0.001)
                tracker.leave()
            })
        }
        XCTAssertEqual(tracker.mostAtOnce, 2, "two threads allowed, \(tracker.threadCount) threads seen")
        XCTAssertGreaterThanOrEqual(tracker.threadCount, 2)
    }

    /// A chunk that splits its own work finds the pool busy and is told so, and the job it
    /// belongs to still completes; so does every call from several threads at once through
    /// `RowParallelism`, which falls back to Dispatch when the pool is taken.
    func testABusyPoolRefusesAndParallelCallersStillRunEveryIndex() {
        let pool = RowThreadPool(workers: 1)
        let refused = Counts(4)
        XCTAssertTrue(pool.run(4, threads: 2) { i in
            if !pool.run(3, threads: 2, { _ in }) { refused.add(i) }
        })
        XCTAssertEqual(refused.values, [1, 1, 1, 1])
        XCTAssertFalse(pool.run(5, threads: 1) { _ in }, "one thread needs no pool")
        XCTAssertFalse(RowThreadPool(workers: 0).run(5, threads: 2) { _ in })

        let callers = 4, count = 50
        let counts = Counts(callers * count)
        DispatchQueue.concurrentPerform(iterations: callers) { c in
            for _ in 0..<100 {
                RowParallelism.withWidth(2) {
                    RowParallelism.forEach(count) { i in counts.add(c * count + i) }
                }
            }
        }
        XCTAssertEqual(counts.values, Array(repeating: 100, count: callers * count))
    }
}

/// How many threads were inside a section at once, at most, and how many distinct ones.
private final class ConcurrencyTracker: @unchecked Sendable {
    private let lock = NSLock()
    private var inside = 0
    private var most = 0
    private var threads = Set<ObjectIdentifier>()
    func enter() {
        lock.lock()
        inside += 1
        most = max(most, inside)
        threads.insert(ObjectIdentifier(Thread.current))
        lock.unlock()
    }
    func leave() { lock.lock(); inside -= 1; lock.unlock() }
    var mostAtOnce: Int { lock.lock(); defer { lock.unlock() }; return most }
    var threadCount: Int { lock.lock(); defer { lock.unlock() }; return threads.count }
}
