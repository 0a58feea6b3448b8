import Foundation

/// Seconds on a clock that never jumps (not wall time), for deadlines and heartbeats.
public enum FleetClock {
    public static func monotonic() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }
}
