import ArgumentParser
import ILIInference

/// The MCMC options of `ili sample` and `ili validate`, which override the sampler saved
/// with an NLE or NRE posterior.
struct SamplerOptions: ParsableArguments {
    @Option(help: "MCMC sampler for NLE/NRE posteriors: slice, ensemble or sir (default: the posterior's, normally slice).")
    var sampler: SamplerKind?
    @Option(help: "Chains per observation (walkers for the ensemble sampler; default 20, and more for samples of over 100 draws per chain: see --max-draws-per-chain).") var chains: Int?
    @Option(help: "Run more chains than --chains when a sample would need more draws than this from each (default 100 unless --chains is given; 0: no limit).")
    var maxDrawsPerChain: Int?
    @Option(help: "Warm-up steps per chain, discarded (default 200).") var warmup: Int?
    @Option(help: "Keep every N-th step after warm-up (default 1).") var thin: Int?
    @Option(help: "Proposals per draw for sir (default 32).") var oversampling: Int?

    var isEmpty: Bool { sampler == nil && chains == nil && warmup == nil && thin == nil && oversampling == nil && maxDrawsPerChain == nil }

    func apply(to settings: inout SamplerSettings) {
        if let sampler { settings.kind = sampler }
        settings.request(chains: chains, maxDrawsPerChain: maxDrawsPerChain)
        if let warmup { settings.warmup = warmup }
        if let thin { settings.thin = thin }
        if let oversampling { settings.sirOversampling = oversampling }
    }

    /// The flag that sets each field of `SamplerSettings`, for errors.
    static let flags = ["kind": "--sampler", "chains": "--chains", "warmup": "--warmup", "thin": "--thin",
                        "sirOversampling": "--oversampling", "maxDrawsPerChain": "--max-draws-per-chain"]

    /// Applies these flags to an NLE or NRE posterior and checks the result, naming the flag
    /// at fault; refuses the flags for an NPE posterior (at `path`), which has no sampler.
    /// Returns the posterior as an MCMC posterior, or nil for an NPE one.
    func configure(_ posterior: any Posterior, path: String) throws -> MCMCPosterior? {
        guard let mcmc = posterior as? MCMCPosterior else {
            if !isEmpty {
                throw CommandFailure("\(path) is an NPE posterior, which is sampled directly; --sampler, --chains, --max-draws-per-chain, --warmup, --thin and --oversampling are for NLE and NRE posteriors")
            }
            return nil
        }
        apply(to: &mcmc.sampler)
        do {
            try mcmc.sampler.validate(parameterCount: mcmc.thetaDimension)
        } catch let error as SamplerError {
            throw CommandFailure((error.field.flatMap { Self.flags[$0] }.map { "\($0): " } ?? "") + error.message)
        }
        return mcmc
    }
}

extension SamplerKind: ExpressibleByArgument {}
