import Foundation
import ILITensor
import XCTest

final class RowParallelismTests: XCTestCase {
    /// Every index runs exactly once, whatever the width and count.
    func testEveryIndexRunsOnce() {
        for width in [1, 2, 3, 8] {
            for count in [0, 1, 2, 5, 17] {
                let counts = Counts(count)
                RowParallelism.withWidth(width) { RowParallelism.forEach(count) { counts.add($0) } }
                XCTAssertEqual(counts.values, Array(repeating: 1, count: count), "width \(width), count \(count)")
            }
        }
    }

    /// A bound width is what operations see, and width 1 keeps the work on the caller.
    func testABoundWidthIsHonoured() {
        RowParallelism.withWidth(3) { XCTAssertEqual(RowParallelism.width, 3) }
        RowParallelism.withWidth(0) { XCTAssertEqual(RowParallelism.width, 1) }
        let caller = pthread_self()
        let threads = Counts(1)
        RowParallelism.withWidth(1) {
            RowParallelism.forEach(6) { _ in if pthread_equal(pthread_self(), caller) == 0 { threads.add(0) } }
        }
        XCTAssertEqual(threads.values, [0], "width 1 ran work off the calling thread")
    }
}

/// Per-index counters bumped from several threads; the lock guards `values`.
private final class Counts: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [Int]
    init(_ count: Int) { storage = Array(repeating: 0, count: count) }
    func add(_ i: Int) { lock.lock(); storage[i] += 1; lock.unlock() }
    var values: [Int] { lock.lock(); defer { lock.unlock() }; return storage }
}
