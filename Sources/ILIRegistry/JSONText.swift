import Foundation

/// JSON columns (configs, priors, summaries) are passed as text; checking them before
/// they reach the database gives an error that names the field instead of a constraint.
enum JSONText {
    static func validated(_ text: String, _ field: String) throws -> String {
        guard (try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])) != nil else {
            let preview = text.count > 60 ? String(text.prefix(60)) + "…" : text
            throw RegistryError(.invalidInput, "\(field) is not valid JSON (`\(preview)`): pass a JSON object, e.g. {}")
        }
        return text
    }

    static func object(_ text: String) -> Any {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])) ?? NSNull()
    }
}

extension Date {
    init(epochSeconds: Double) { self.init(timeIntervalSince1970: epochSeconds) }
}
