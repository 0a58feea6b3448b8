import CILIKernels
import Dispatch
import Foundation

/// The threads `RowParallelism.forEach` hands chunks to: `ILI_THREADS − 1` of them, started
/// on first use, that spin for a moment after each job before they sleep.
///
/// A training step at sbi's sizes splits 200 rows into two chunks of well under a
/// millisecond each, a few thousand times an epoch. Dispatch's `concurrentPerform` wakes a
/// sleeping worker for every one of them; on a virtual machine that wake-up can take as
/// long as the chunk, and the calling thread often ran both chunks itself. Threads that
/// are still spinning when the next step's chunks arrive pick them up at once.
///
/// The design keeps every step correct without the workers: the caller claims chunks as
/// they do, from one atomic counter, so a worker that sleeps, starts late or never starts
/// only costs speed. One job runs at a time; a call that finds the pool busy (a chunk that
/// splits its own rows, or two ensemble members side by side) returns false and its
/// caller uses Dispatch instead.
final class RowThreadPool: @unchecked Sendable {
    static let shared = RowThreadPool(workers: RowParallelism.processDefault - 1)

    /// How long a worker spins for the next job before it sleeps: longer than the gap
    /// between two steps' chunks (the gradient sum and the Adam update), short enough that
    /// an idle pool gives the cores back at once.
    static let spinNanoseconds: UInt64 = 200_000

    let workerCount: Int

    // The job word packs generation (24 bits) | chunk count (20) | next unclaimed chunk (20);
    // claiming a chunk is one compare-exchange that also checks the job is still current.
    private static let indexBits: UInt64 = 20
    private static let indexMask: UInt64 = (1 << indexBits) - 1
    static let maximumCount = Int(indexMask)

    private let words: UnsafeMutablePointer<UInt64>
    private var state: UnsafeMutablePointer<UInt64> { words }
    private var finished: UnsafeMutablePointer<UInt64> { words + 1 }
    private var freeSlots: UnsafeMutablePointer<UInt64> { words + 2 }
    private var sleepers: UnsafeMutablePointer<UInt64> { words + 3 }
    private var busy: UnsafeMutablePointer<UInt64> { words + 4 }
    private var jobAddress: UnsafeMutablePointer<UInt64> { words + 5 }

    private let wake = DispatchSemaphore(value: 0)
    private let startLock = NSLock()
    private var started = false
    /// Written only by the caller that holds `busy`.
    private var generation: UInt64 = 0

    private final class Job {
        let body: (Int) -> Void
        init(_ body: @escaping (Int) -> Void) { self.body = body }
    }

    init(workers: Int) {
        workerCount = max(0, workers)
        words = .allocate(capacity: 6)
        words.initialize(repeating: 0, count: 6)
    }

    /// Calls `body(i)` for every `i` in `0..<count` on the calling thread and up to
    /// `threads − 1` workers, and returns when all calls have; false, having called nothing,
    /// when the pool has no workers, is busy or `count` is beyond its counter.
    func run(_ count: Int, threads: Int, _ body: (Int) -> Void) -> Bool {
        guard workerCount > 0, threads > 1, count > 0, count <= Self.maximumCount,
              ili_atomic_compare_exchange(busy, 0, 1) else { return false }
        defer { ili_atomic_store(busy, 0) }
        startWorkersOnce()
        withoutActuallyEscaping(body) { body in
            let job = Job(body)
            withExtendedLifetime(job) {
                ili_atomic_store(finished, 0)
                ili_atomic_store(freeSlots, UInt64(min(threads - 1, workerCount)))
                ili_atomic_store(jobAddress, UInt64(UInt(bitPattern: Unmanaged.passUnretained(job).toOpaque())))
                generation = (generation + 1) & ((1 << 24) - 1)
                ili_atomic_store(state, generation << (2 * Self.indexBits) | UInt64(count) << Self.indexBits)
                let asleep = ili_atomic_exchange(sleepers, 0)
                for _ in 0..<asleep { wake.signal() }
                claimChunks(of: generation)
                var spins = 0
                while ili_atomic_load(finished) < UInt64(count) {
                    ili_spin_pause()
                    spins += 1
                    // A worker descheduled mid-chunk: let it have the core.
                    if spins & 4095 == 0 { sched_yield() }
                }
            }
        }
        return true
    }

    /// Claims and runs chunks of job `generation` until none is left.
    private func claimChunks(of generation: UInt64) {
        while true {
            let word = ili_atomic_load(state)
            let next = word & Self.indexMask, count = (word >> Self.indexBits) & Self.indexMask
            guard word >> (2 * Self.indexBits) == generation, next < count else { return }
            guard ili_atomic_compare_exchange(state, word, word + 1) else { continue }
            // The claim succeeded, so the job is unfinished and its caller keeps it alive.
            // No reference may outlive the chunk: once `finished` counts it, the caller
            // returns and the closure's borrowed context ends.
            let address = UInt(ili_atomic_load(jobAddress))
            Unmanaged<Job>.fromOpaque(UnsafeRawPointer(bitPattern: address)!)._withUnsafeGuaranteedRef { $0.body(Int(next)) }
            _ = ili_atomic_fetch_add(finished, 1)
        }
    }

    private func startWorkersOnce() {
        startLock.lock()
        defer { startLock.unlock() }
        guard !started else { return }
        started = true
        for n in 0..<workerCount {
            let thread = Thread { [unowned self] in self.work() }
            thread.name = "ili-rows-\(n + 1)"
            // Chunks run the same code as the caller's thread: give them a main thread's stack.
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    private func work() {
        var seen: UInt64 = 0
        while true {
            var word = ili_atomic_load(state)
            var deadline = DispatchTime.now().uptimeNanoseconds + Self.spinNanoseconds
            var spins = 0
            while word >> (2 * Self.indexBits) == seen {
                ili_spin_pause()
                spins += 1
                if spins & 255 == 0, DispatchTime.now().uptimeNanoseconds > deadline {
                    // Counted before the last look, so a caller that publishes after it
                    // signals; one that published before is seen by the look.
                    _ = ili_atomic_fetch_add(sleepers, 1)
                    if ili_atomic_load(state) >> (2 * Self.indexBits) == seen { wake.wait() }
                    deadline = DispatchTime.now().uptimeNanoseconds + Self.spinNanoseconds
                }
                word = ili_atomic_load(state)
            }
            seen = word >> (2 * Self.indexBits)
            if takeSlot() { claimChunks(of: seen) }
        }
    }

    /// One of the current job's places for a worker, so a caller bound to fewer threads
    /// than the pool has is not joined by all of them.
    private func takeSlot() -> Bool {
        while true {
            let free = ili_atomic_load(freeSlots)
            if free == 0 { return false }
            if ili_atomic_compare_exchange(freeSlots, free, free - 1) { return true }
        }
    }
}
