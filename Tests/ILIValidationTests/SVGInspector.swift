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
        var classes: [String] { (attributes["class"] ?? "").split(separator: " ").map(String.init) }
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
        elements.append(Element(name: elementName, attributes: attributeDict))
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
}
