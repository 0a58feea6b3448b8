import CILIKernels

/// Process-wide allocator settings for training loops; executables opt in at startup.
///
/// A training step allocates and frees the same few hundred-kilobyte matrices thousands of
/// times. By default glibc serves blocks that large with mmap and returns trimmed heap to
/// the kernel, so every step paid page faults and page clearing (15 NRE epochs on two
/// moons: 92,000 page faults and 12% of the CPU time in the kernel).
///
/// ```swift
/// AllocatorTuning.keepFreedMemory()   // first thing in main()
/// ```
public enum AllocatorTuning {
    public static func keepFreedMemory() { ili_keep_freed_memory() }
}
