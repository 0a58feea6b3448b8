import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// Parses an SVG document with Foundation's XML parser and records every element's name
/// and attributes, so that tests can count what a plot drew.
final class SVGInspector: NSObject, XMLParserDelegate {
    struct Element {
        var name: String
        var attributes: [String: String]
        var text = ""
        /// The index of the enclosing element in `elements`, nil for the root.
        var parent: Int?
        var classes: [String] { (attributes["class"] ?? "").split(separator: " ").map(String.init) }
        /// A numeric attribute (coordinates are written as plain decimals).
        func number(_ attribute: String) -> Double? { attributes[attribute].flatMap(Double.init) }
    }

    private(set) var elements: [Element] = []
    private var openIndices: [Int] = []
    private(set) var parseError: Error?

    /// Nil when the document is not well-formed XML.
    static func parse(_ document: String) -> SVGInspector? {
        let inspector = SVGInspector()
        let parser = XMLParser(data: Data(document.utf8))
        parser.delegate = inspector
        guard parser.parse(), inspector.parseError == nil else { return nil }
        return inspector
    }

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                qualifiedName qName: String?, attributes attributeDict: [String: String] = [:]) {
        elements.append(Element(name: elementName, attributes: attributeDict, parent: openIndices.last))
        openIndices.append(elements.count - 1)
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?) {
        openIndices.removeLast()
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if let last = openIndices.last { elements[last].text += string }
    }

    func parser(_ parser: XMLParser, parseErrorOccurred parseError: Error) {
        self.parseError = parseError
    }

    func count(class name: String, element: String? = nil) -> Int {
        elements.filter { $0.classes.contains(name) && (element == nil || $0.name == element) }.count
    }

    func all(class name: String) -> [Element] {
        elements.filter { $0.classes.contains(name) }
    }

    var texts: [String] { elements.filter { $0.name == "text" }.map(\.text) }

    /// Indices of the elements of class `name` (and element kind `element`, when given).
    func indices(class name: String, element: String? = nil) -> [Int] {
        elements.indices.filter { elements[$0].classes.contains(name) && (element == nil || elements[$0].name == element) }
    }

    /// The elements inside element `index`, at any depth, in document order.
    func descendants(of index: Int) -> [Element] {
        elements.indices.filter { isInside($0, index) }.map { elements[$0] }
    }

    private func isInside(_ candidate: Int, _ ancestor: Int) -> Bool {
        var p = elements[candidate].parent
        while let q = p {
            if q == ancestor { return true }
            p = elements[q].parent
        }
        return false
    }

    /// The group of class `name` whose `attribute` is `value` (e.g. a panel by parameter).
    func group(class name: String, _ attribute: String, _ value: String) -> Int? {
        indices(class: name, element: "g").first { elements[$0].attributes[attribute] == value }
    }

    /// The data-to-pixel map of one axis of the panel at `index`, read off its tick marks
    /// and their labels: x ticks are vertical lines below the frame, y ticks horizontal
    /// lines left of it, each followed by its label. Nil when the panel has fewer than two.
    func axis(_ vertical: Bool, ofPanel index: Int) -> ((Double) -> Double)? {
        var pairs: [(value: Double, pixel: Double)] = []
        var pendingPixel: Double?
        for element in descendants(of: index) {
            if element.name == "line", element.classes.contains("tick"),
               let x1 = element.number("x1"), let x2 = element.number("x2"), let y1 = element.number("y1") {
                // A vertical mark is an x tick; keep it when the x axis is asked for.
                let isXTick = x1 == x2
                pendingPixel = isXTick != vertical ? (isXTick ? x1 : y1) : nil
            } else if element.name == "text", element.classes.contains("tick-label"), let pixel = pendingPixel {
                if let value = Double(element.text.replacingOccurrences(of: "\u{2212}", with: "-")) {
                    pairs.append((value, pixel))
                }
                pendingPixel = nil
            }
        }
        guard let first = pairs.first, let last = pairs.last, last.value != first.value else { return nil }
        let slope = (last.pixel - first.pixel) / (last.value - first.value)
        // Every tick must sit on the same line, or the labels do not match the marks.
        for p in pairs where Swift.abs(first.pixel + slope * (p.value - first.value) - p.pixel) > 0.02 { return nil }
        return { first.pixel + slope * ($0 - first.value) }
    }
}
