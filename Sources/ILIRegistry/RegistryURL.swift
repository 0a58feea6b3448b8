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

    /// Every password libpq would read from `text` replaced by `***`, safe for messages
    /// and logs: the user information of a URI (`scheme://user:password@host…`, where an
    /// unencoded `@` may sit inside the password), `password=` query parameters (`?` or
    /// `&`), and `password` pairs of a key=value connection string (`host=h password=p`,
    /// `password = 'a b'`). Percent-encoded passwords are replaced whole.
    public static func redacting(_ text: String) -> String {
        var out = text
        let isURI = out.range(of: "://") != nil
        if let schemeEnd = out.range(of: "://") {
            let rest = out[schemeEnd.upperBound...]
            let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
            if let at = rest[..<authorityEnd].lastIndex(of: "@"),
               let colon = rest[..<at].firstIndex(of: ":") {
                out = String(out[...colon]) + "***" + String(out[at...])
            }
        }
        // `password` as a key: at the start, after `?` or `&` in a URI, after whitespace in a
        // connection string; then `=` (spaces around it in a connection string).
        var searchFrom = out.startIndex
        while let key = out.range(of: "password", range: searchFrom..<out.endIndex) {
            searchFrom = key.upperBound
            if key.lowerBound != out.startIndex {
                let before = out[out.index(before: key.lowerBound)]
                guard isURI ? (before == "?" || before == "&") : before.isWhitespace else { continue }
            }
            var cursor = key.upperBound
            if !isURI { while cursor < out.endIndex, out[cursor].isWhitespace { cursor = out.index(after: cursor) } }
            guard cursor < out.endIndex, out[cursor] == "=" else { continue }
            cursor = out.index(after: cursor)
            if !isURI { while cursor < out.endIndex, out[cursor].isWhitespace { cursor = out.index(after: cursor) } }
            var valueEnd = cursor
            if !isURI, cursor < out.endIndex, out[cursor] == "'" {
                // A quoted value runs to the next quote that no backslash escapes.
                valueEnd = out.index(after: cursor)
                while valueEnd < out.endIndex, out[valueEnd] != "'" {
                    if out[valueEnd] == "\\" { valueEnd = out.index(after: valueEnd) }
                    if valueEnd < out.endIndex { valueEnd = out.index(after: valueEnd) }
                }
                if valueEnd < out.endIndex { valueEnd = out.index(after: valueEnd) }
            } else {
                while valueEnd < out.endIndex, isURI ? (out[valueEnd] != "&" && out[valueEnd] != "#") : !out[valueEnd].isWhitespace {
                    valueEnd = out.index(after: valueEnd)
                }
            }
            let offset = out.distance(from: out.startIndex, to: cursor)
            out.replaceSubrange(cursor..<valueEnd, with: "***")
            searchFrom = out.index(out.startIndex, offsetBy: offset + 3)
        }
        return out
    }
}
