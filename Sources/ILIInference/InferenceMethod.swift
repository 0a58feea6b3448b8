/// What a posterior is learned from: the posterior itself (NPE), the likelihood (NLE) or
/// the likelihood-to-evidence ratio (NRE). Spelled `npe`, `nle`, `nre` in configuration
/// files and `NPE`, `NLE`, `NRE` in the registry and posterior directories.
public enum InferenceMethod: String, Codable, Sendable, CaseIterable {
    case npe, nle, nre

    /// The spelling the registry and `posterior.json` use.
    public var displayName: String { rawValue.uppercased() }

    /// Reads either spelling.
    public init?(displayName: String) {
        self.init(rawValue: displayName.lowercased())
    }

    /// Whether the posterior is sampled by MCMC on a learned likelihood or ratio.
    public var usesMCMC: Bool { self != .npe }
}
