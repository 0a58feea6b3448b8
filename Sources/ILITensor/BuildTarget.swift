import Foundation

/// What CPU features this build of the engine assumes, and whether this CPU has them.
public enum BuildTarget {
    /// Whether the numeric modules were compiled for AVX2 and FMA (the default on x86-64;
    /// `ILI_PORTABLE=1` at build time turns it off).
    public static var assumesAVX2: Bool {
        #if ILI_AVX2
        return true
        #else
        return false
        #endif
    }

    /// The CPU feature flags the kernel reports (`/proc/cpuinfo`), empty where unknown.
    public static var cpuFlags: Set<String> {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return [] }
        return cpuFlags(fromCPUInfo: text)
    }

    /// The flags of the first processor in the text of a `/proc/cpuinfo`.
    public static func cpuFlags(fromCPUInfo text: String) -> Set<String> {
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
              let colon = line.firstIndex(of: ":") else { return [] }
        return Set(line[line.index(after: colon)...].split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init))
    }

    /// The features this build needs that the CPU lacks (empty when all is well or unknown).
    public static var missingCPUFeatures: [String] { missingCPUFeatures(flags: cpuFlags) }

    /// The features this build needs that a CPU with `flags` lacks; none when `flags` is
    /// empty (unknown) or the build assumes nothing.
    public static func missingCPUFeatures(flags: Set<String>) -> [String] {
        guard assumesAVX2, !flags.isEmpty else { return [] }
        return ["avx2", "fma"].filter { !flags.contains($0) }
    }
}
