import Foundation

/// Builds an SVG document as text: elements with escaped attributes, nested groups, and
/// numbers written short (two decimals) so files stay small and diffable.
///
/// ```swift
/// var svg = SVGWriter(width: 400, height: 300)
/// svg.open("g", ["class": "axes"])
/// svg.line(x1: 40, y1: 260, x2: 380, y2: 260, style: "stroke:#222")
/// svg.text("θ₁", x: 210, y: 290, anchor: "middle")
/// svg.close()
/// let document = svg.document
/// ```
public struct SVGWriter: Sendable {
    public let width: Double
    public let height: Double
    private var body: [String] = []
    private var openElements: [String] = []

    public init(width: Double, height: Double) {
        self.width = width
        self.height = height
    }

    /// A number with at most two decimals and no trailing zeros.
    public static func number(_ value: Double) -> String {
        guard value.isFinite else { return "0" }
        let rounded = (value * 100).rounded() / 100
        if rounded == rounded.rounded() && Swift.abs(rounded) < 1e15 { return String(Int(rounded)) }
        var s = String(format: "%.2f", rounded)
        while s.hasSuffix("0") { s.removeLast() }
        return s
    }

    static func escape(_ text: String) -> String {
        var out = ""
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }

    static func attributes(_ attributes: KeyValuePairs<String, String>) -> String {
        attributes.map { " \($0.key)=\"\(escape($0.value))\"" }.joined()
    }

    public mutating func open(_ name: String, _ attributes: KeyValuePairs<String, String> = [:]) {
        body.append("<\(name)\(Self.attributes(attributes))>")
        openElements.append(name)
    }

    public mutating func close() {
        let name = openElements.removeLast()
        body.append("</\(name)>")
    }

    /// An element without children.
    public mutating func element(_ name: String, _ attributes: KeyValuePairs<String, String>) {
        body.append("<\(name)\(Self.attributes(attributes))/>")
    }

    public mutating func line(x1: Double, y1: Double, x2: Double, y2: Double, style: String, className: String? = nil) {
        let n = Self.number
        if let className {
            element("line", ["class": className, "x1": n(x1), "y1": n(y1), "x2": n(x2), "y2": n(y2), "style": style])
        } else {
            element("line", ["x1": n(x1), "y1": n(y1), "x2": n(x2), "y2": n(y2), "style": style])
        }
    }

    public mutating func rect(x: Double, y: Double, width: Double, height: Double, style: String, className: String = "") {
        let n = Self.number
        element("rect", ["class": className, "x": n(x), "y": n(y), "width": n(Swift.max(width, 0)),
                         "height": n(Swift.max(height, 0)), "style": style])
    }

    public mutating func circle(x: Double, y: Double, radius: Double, style: String, className: String = "") {
        let n = Self.number
        element("circle", ["class": className, "cx": n(x), "cy": n(y), "r": n(radius), "style": style])
    }

    /// A path through `points`, `closed` back to the first; nothing for fewer than two points.
    public mutating func polyline(_ points: [(Double, Double)], style: String, className: String = "", closed: Bool = false) {
        guard points.count >= 2 else { return }
        path(Self.pathData(points) + (closed ? " Z" : ""), style: style, className: className)
    }

    public mutating func path(_ data: String, style: String, className: String = "") {
        element("path", ["class": className, "d": data, "style": style])
    }

    public mutating func text(_ content: String, x: Double, y: Double, anchor: String = "start",
                              size: Double = 11, rotate: Double? = nil, style: String = "fill:#222", className: String = "") {
        let n = Self.number
        let transform = rotate.map { "rotate(\(n($0)) \(n(x)) \(n(y)))" } ?? ""
        body.append("<text class=\"\(className)\" x=\"\(n(x))\" y=\"\(n(y))\" text-anchor=\"\(anchor)\" font-size=\"\(n(size))\""
                    + (transform.isEmpty ? "" : " transform=\"\(transform)\"")
                    + " style=\"\(Self.escape(style))\">\(Self.escape(content))</text>")
    }

    /// "M x y L x y …" for a polyline.
    public static func pathData(_ points: [(Double, Double)]) -> String {
        points.enumerated().map { k, p in (k == 0 ? "M" : "L") + number(p.0) + " " + number(p.1) }.joined(separator: " ")
    }

    /// The complete document, with a white background so that it reads on any viewer.
    public var document: String {
        precondition(openElements.isEmpty, "SVG elements left open: \(openElements)")
        let n = Self.number
        return """
            <?xml version="1.0" encoding="UTF-8"?>
            <svg xmlns="http://www.w3.org/2000/svg" width="\(n(width))" height="\(n(height))" viewBox="0 0 \(n(width)) \(n(height))" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">
            <rect class="background" x="0" y="0" width="\(n(width))" height="\(n(height))" style="fill:#ffffff"/>

            """ + body.joined(separator: "\n") + "\n</svg>\n"
    }

    /// Writes the document to `path`.
    public func write(to path: String) throws {
        do {
            try Data(document.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw ValidationSuiteError("could not write the plot \(path): \(error.localizedDescription); check that its directory exists and is writable")
        }
    }
}
