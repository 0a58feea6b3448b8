/// The seeds of an experiment's random choices, each derived from the configuration's seed
/// and what it is for, so that a restarted run draws exactly what the first one drew and
/// no two choices share a stream.
enum Seeds {
    /// A seed for `purpose` with the given indices (round, chunk, …), mixed by SplitMix64.
    static func derive(_ base: UInt64, _ purpose: String, _ indices: Int...) -> UInt64 {
        var h = mix(base ^ 0x9E37_79B9_7F4A_7C15)
        for byte in purpose.utf8 { h = mix(h ^ UInt64(byte)) }
        for i in indices { h = mix(h ^ UInt64(bitPattern: Int64(i))) }
        return h
    }

    private static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
