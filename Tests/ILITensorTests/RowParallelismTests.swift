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

final class ThreadSettingTests: XCTestCase {
    /// ILI_THREADS: a positive whole number is taken as written; anything else means every core.
    func testILIThreadsIsParsedAsAPositiveWholeNumberElseEveryCore() {
        XCTAssertEqual(RowParallelism.width(fromEnvironment: "3", cores: 2), 3)
        XCTAssertEqual(RowParallelism.width(fromEnvironment: "1", cores: 8), 1)
        for bad in [nil, "", "0", "-2", "two", "2.5", " 4", "4 "] as [String?] {
            XCTAssertEqual(RowParallelism.width(fromEnvironment: bad, cores: 6), 6, "ILI_THREADS=\(bad ?? "unset")")
        }
        XCTAssertGreaterThanOrEqual(RowParallelism.processDefault, 1)
    }

    /// The doctor's CPU check: the flags line of /proc/cpuinfo, and what this build lacks on it.
    func testCPUFlagsAreReadAndMissingFeaturesNamed() {
        let cpuinfo = """
            processor\t: 0
            vendor_id\t: GenuineIntel
            flags\t\t: fpu vme sse2 avx fma\tavx2 bmi2
            bogomips\t: 4800.00

            processor\t: 1
            flags\t\t: fpu
            """
        XCTAssertEqual(BuildTarget.cpuFlags(fromCPUInfo: cpuinfo), ["fpu", "vme", "sse2", "avx", "fma", "avx2", "bmi2"])
        XCTAssertEqual(BuildTarget.cpuFlags(fromCPUInfo: "processor : 0\n"), [])
        if BuildTarget.assumesAVX2 {
            XCTAssertEqual(BuildTarget.missingCPUFeatures(flags: ["sse2", "avx"]), ["avx2", "fma"])
            XCTAssertEqual(BuildTarget.missingCPUFeatures(flags: ["sse2", "avx2"]), ["fma"])
            XCTAssertEqual(BuildTarget.missingCPUFeatures(flags: ["avx2", "fma"]), [])
        } else {
            XCTAssertEqual(BuildTarget.missingCPUFeatures(flags: ["sse2"]), [], "a portable build assumes nothing")
        }
        XCTAssertEqual(BuildTarget.missingCPUFeatures(flags: []), [], "unknown flags are not a problem")
    }
}

/// Per-index counters bumped from several threads; the lock guards `values`.
final class Counts: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [Int]
    init(_ count: Int) { storage = Array(repeating: 0, count: count) }
    func add(_ i: Int) { lock.lock(); storage[i] += 1; lock.unlock() }
    var values: [Int] { lock.lock(); defer { lock.unlock() }; return storage }
}
