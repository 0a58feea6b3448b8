/// Which sampler draws from an unnormalised posterior (NLE, NRE).
public enum SamplerKind: String, CaseIterable, Codable, Sendable {
    /// Coordinate-wise slice sampling with stepping out and shrinkage, all chains batched.
    case slice
    /// Goodman & Weare's affine-invariant ensemble (stretch move).
    case ensemble
    /// Sampling–importance–resampling from a proposal (the prior), no chains.
    case sir
}

/// How MCMC or importance resampling is run; the defaults suit a low-dimensional posterior.
///
/// ```swift
/// var settings = SamplerSettings()
/// settings.kind = .ensemble
/// settings.chains = 32
/// try settings.validate()
/// ```
public struct SamplerSettings: Codable, Sendable, Equatable {
    public var kind: SamplerKind = .slice
    /// Chains per group (one group per observation); walkers for the ensemble sampler,
    /// which needs at least twice as many as there are parameters.
    public var chains: Int = 20
    /// Steps per chain discarded at the start; the slice sampler tunes its step widths during them.
    public var warmup: Int = 200
    /// Keep every `thin`-th step after warm-up.
    public var thin: Int = 1
    /// Proposals per draw of sampling–importance–resampling.
    public var sirOversampling: Int = 32
    /// The most draws one slice-sampler chain gives per observation: a larger sample runs more chains
    /// than `chains` (see `chains(forDraws:)`); `nil` keeps `chains` whatever the sample.
    ///
    /// Chains seldom cross the low-density gap between the modes of a multimodal posterior,
    /// so each mode's share of the draws is the share of chains that started in it. With 20
    /// chains that share moves in steps of 5% and by ±11% from run to run; on two moons a
    /// 13-to-7 split of the chains cost as much C2ST accuracy (0.577 instead of 0.52) as
    /// the whole difference between ili's and sbi's sequential NLE. Since extra chains cost
    /// little next to the draws they replace, a 10,000-draw sample runs 100 chains, while a
    /// validation of 1,000 draws per test point keeps 20.
    public var maxDrawsPerChain: Int? = 100

    /// Chains per observation for `count` draws each: `chains`, or for the slice sampler
    /// more when `count` exceeds `chains · maxDrawsPerChain` (at most 1,000). The ensemble
    /// sampler's walkers move along lines through each other, which can cross between
    /// modes, so its count stays as set.
    public func chains(forDraws count: Int) -> Int {
        guard kind == .slice, let perChain = maxDrawsPerChain, perChain > 0 else { return chains }
        return max(chains, min((count + perChain - 1) / perChain, 1_000))
    }

    /// Sets the chain count and the draws-per-chain limit as a configuration or the command
    /// line asks for them: chains given by number run as given (no limit), unless a limit is
    /// given too; a limit of 0 means none. Absent values leave the settings as they are.
    public mutating func request(chains: Int?, maxDrawsPerChain: Int?) {
        if let chains {
            self.chains = chains
            self.maxDrawsPerChain = nil
        }
        if let maxDrawsPerChain { self.maxDrawsPerChain = maxDrawsPerChain == 0 ? nil : maxDrawsPerChain }
    }

    public init() {}

    /// Throws a `SamplerError` naming the first field out of range. The ensemble sampler's
    /// need for `chains ≥ 2·d` is checked by `validate(parameterCount:)`, where d is known.
    public func validate() throws {
        func bad(_ field: String, _ value: Int, _ rule: String) -> SamplerError {
            SamplerError(.invalidSettings, field: field, "sampler setting \(field) is \(value) but \(rule)")
        }
        if chains < 2 { throw bad("chains", chains, "at least 2 chains are needed (R-hat compares chains)") }
        if warmup < 0 { throw bad("warmup", warmup, "it must be 0 or more steps") }
        if thin < 1 { throw bad("thin", thin, "it must be at least 1 (1 keeps every step)") }
        if sirOversampling < 1 { throw bad("sirOversampling", sirOversampling, "it must be at least 1 proposal per draw") }
        if let m = maxDrawsPerChain, m < 1 { throw bad("maxDrawsPerChain", m, "it must be at least 1 draw per chain (or absent for no limit)") }
    }

    /// As `validate()`, and also the ensemble sampler's need for at least 2·d chains, for
    /// callers that know the number of parameters d (a run configuration, `ili sample`).
    public func validate(parameterCount d: Int) throws {
        try validate()
        if kind == .ensemble && chains < 2 * d {
            throw SamplerError(.invalidSettings, field: "chains", "the ensemble sampler needs at least 2·d = \(2 * d) chains (walkers) for \(d) parameters, got \(chains)")
        }
    }

    // Absent keys take their defaults, so that a configuration names only what it changes.
    private enum CodingKeys: String, CodingKey { case kind, chains, warmup, thin, sirOversampling, maxDrawsPerChain }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        kind = try c.decodeIfPresent(SamplerKind.self, forKey: .kind) ?? kind
        chains = try c.decodeIfPresent(Int.self, forKey: .chains) ?? chains
        warmup = try c.decodeIfPresent(Int.self, forKey: .warmup) ?? warmup
        thin = try c.decodeIfPresent(Int.self, forKey: .thin) ?? thin
        sirOversampling = try c.decodeIfPresent(Int.self, forKey: .sirOversampling) ?? sirOversampling
        // Settings stored before this field existed read as the current default.
        if c.contains(.maxDrawsPerChain) { maxDrawsPerChain = try c.decodeIfPresent(Int.self, forKey: .maxDrawsPerChain) }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(kind, forKey: .kind)
        try c.encode(chains, forKey: .chains)
        try c.encode(warmup, forKey: .warmup)
        try c.encode(thin, forKey: .thin)
        try c.encode(sirOversampling, forKey: .sirOversampling)
        // Written even when nil (as null), so that "no limit" does not read back as the default.
        try c.encode(maxDrawsPerChain, forKey: .maxDrawsPerChain)
    }
}
