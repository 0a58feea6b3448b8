import Foundation
import ILIInference

/// Collects the chain diagnostics of an NLE or NRE posterior's sampling and words the
/// ones out of bounds for someone at the command line: what is wrong, where, and which
/// flags to change.
struct SamplerWarnings {
    /// What an observation is called in the messages ("observation", "test point").
    let subject: String
    private(set) var flagged: [(index: Int, diagnostics: ChainDiagnostics)] = []
    private(set) var total = 0

    init(subject: String) { self.subject = subject }

    /// Adds one sampling call's diagnostics, whose first entry is observation `offset`.
    mutating func add(_ diagnostics: [ChainDiagnostics?], offset: Int) {
        for (k, d) in diagnostics.enumerated() {
            if let d, !d.warnings.isEmpty { flagged.append((offset + k, d)) }
        }
        total += diagnostics.count
    }

    /// The warning lines (without a `warning: ` prefix): up to three observations in detail,
    /// a count of the rest, where each one's figures are (`detailsFile`, when one is
    /// written), and the flags that help. Empty when every diagnostic was in bounds.
    func lines(settings: SamplerSettings, detailsFile: String?) -> [String] {
        guard !flagged.isEmpty else { return [] }
        var lines = flagged.prefix(3).map { entry in
            (total > 1 ? "\(subject) \(entry.index): " : "") + entry.diagnostics.warnings.joined(separator: "; ")
        }
        let where_ = detailsFile.map { "; each \(subject)'s R-hat and ESS are in \($0)" } ?? ""
        if flagged.count > 3 || detailsFile != nil {
            lines.append("\(flagged.count) of \(total) \(subject)s have an R-hat above \(ChainDiagnostics.rHatLimit) or a bulk ESS under \(Int(ChainDiagnostics.relativeESSLimit * 100))% of the draws" + where_)
        }
        lines.append("""
            the draws may not represent the posterior: run again with more chains (--chains \(settings.chains * 2)), \
            a longer warm-up (--warmup \(max(settings.warmup * 2, 100))) or thinning (--thin \(max(settings.thin * 5, 5))); \
            chains that still disagree may each sit in one mode of a multimodal posterior
            """)
        return lines
    }

    func print(settings: SamplerSettings, detailsFile: String?) {
        for line in lines(settings: settings, detailsFile: detailsFile) {
            FileHandle.standardError.write(Data("warning: \(line)\n".utf8))
        }
    }
}
