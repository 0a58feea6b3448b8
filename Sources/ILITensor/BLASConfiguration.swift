import COpenBLAS
import Foundation

/// The OpenBLAS library the process linked, and its thread count.
///
/// Training works on small matrices, where BLAS threads cost more than they
/// give, so ili runs one BLAS thread per process unless told otherwise:
///
/// ```swift
/// BLASConfiguration.threadCount = 1   // the default set by `useDefaultThreadCount()`
/// ```
public enum BLASConfiguration {
    /// OpenBLAS's build description, e.g. `"OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64"`.
    public static var configString: String {
        guard let c = openblas_get_config() else { return "unknown" }
        return String(cString: c)
    }

    /// The CPU kernel OpenBLAS picked at load time (e.g. `"Haswell"`).
    public static var coreName: String {
        guard let c = openblas_get_corename() else { return "unknown" }
        return String(cString: c)
    }

    /// The number of threads OpenBLAS uses for one call.
    public static var threadCount: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(max(1, newValue))) }
    }

    /// Sets the thread count from `ILI_BLAS_THREADS` when present, else to one.
    ///
    /// - Returns: the thread count now in force.
    @discardableResult
    public static func useDefaultThreadCount(environment: [String: String] = ProcessInfo.processInfo.environment) -> Int {
        if let text = environment["ILI_BLAS_THREADS"], let n = Int(text), n > 0 {
            threadCount = n
        } else {
            threadCount = 1
        }
        return threadCount
    }
}
