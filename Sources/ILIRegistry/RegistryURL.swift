import Foundation

/// Which back end a registry URL selects, parsed once so that every later message can
/// show the URL without its password.
public enum RegistryURL: Sendable, Equatable {
    /// A libpq connection URI (`postgres://` or `postgresql://`), passed to libpq as is.
    case postgres(String)
    /// A SQLite database file.
    case sqlite(path: String)

    public init(_ text: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.hasPrefix("postgres://") || trimmed.hasPrefix("postgresql://") {
            self = .postgres(trimmed)
        } else if trimmed.hasPrefix("sqlite:") {
            var path = String(trimmed.dropFirst("sqlite:".count))
            // `sqlite:///abs/path` and `sqlite://rel/path` are common spellings of the same thing.
            if path.hasPrefix("//") { path = String(path.dropFirst(2)) }
            guard !path.isEmpty else {
                throw RegistryError(.invalidURL, "`\(trimmed)` names no file: write sqlite:PATH, e.g. sqlite:runs/registry.db")
            }
            self = .sqlite(path: path)
        } else {
            throw RegistryError(.invalidURL, """
                `\(RegistryURL.redacting(trimmed))` is not a registry URL: use postgresql://USER@HOST:PORT/DB \
                or sqlite:PATH (from --registry or ILI_REGISTRY)
                """)
        }
    }

    /// The URL with any password replaced by `***`, safe for messages and logs.
    public var redacted: String {
        switch self {
        case .postgres(let url): return RegistryURL.redacting(url)
        case .sqlite(let path): return "sqlite:" + path
        }
    }

    /// Replaces the password of `scheme://user:password@host…` (and a `password=` query
    /// parameter) with `***`.
    public static func redacting(_ url: String) -> String {
        var out = url
        if let schemeEnd = out.range(of: "://") {
            let rest = out[schemeEnd.upperBound...]
            let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
            if let at = rest[..<authorityEnd].lastIndex(of: "@"),
               let colon = rest[..<at].firstIndex(of: ":") {
                out = String(out[..<out.index(after: colon)]) + "***" + String(out[at...])
            }
        }
        if let query = out.range(of: "password=") {
            let valueEnd = out[query.upperBound...].firstIndex(of: "&") ?? out.endIndex
            out.replaceSubrange(query.upperBound..<valueEnd, with: "***")
        }
        return out
    }
}
