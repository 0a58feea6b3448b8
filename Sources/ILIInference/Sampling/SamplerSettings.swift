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
    private enum CodingKeys: String, CodingKey { case kind, chains, warmup, thin, sirOversampling }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        kind = try c.decodeIfPresent(SamplerKind.self, forKey: .kind) ?? kind
        chains = try c.decodeIfPresent(Int.self, forKey: .chains) ?? chains
        warmup = try c.decodeIfPresent(Int.self, forKey: .warmup) ?? warmup
        thin = try c.decodeIfPresent(Int.self, forKey: .thin) ?? thin
        sirOversampling = try c.decodeIfPresent(Int.self, forKey: .sirOversampling) ?? sirOversampling
    }
}
