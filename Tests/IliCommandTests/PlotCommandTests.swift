import Foundation
import XCTest
#if canImport(FoundationXML)
import FoundationXML
#endif

final class PlotCommandTests: ScratchDirectoryTestCase {
    func testCornerPlotOfTwoSampleFilesWithTruth() throws {
        var state: UInt64 = 12345
        // A small linear congruential stream is enough for sample-like numbers in a test file.
        func uniform() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(state >> 11) * 0x1.0p-53
        }
        let a = (0..<600).map { _ in [uniform() + uniform(), uniform() * 2, uniform() - uniform()] }
        let b = (0..<600).map { _ in [uniform() + 0.5, uniform() * 3, uniform()] }
        try NPYTestFile.write(a, to: path("a.npy"))
        try NPYTestFile.write(b, to: path("b.npy"))
        try NPYTestFile.write([[1, 1, 0]], to: path("truth.npy"))
        let result = try BinaryRunner.run(["plot", "corner", "--samples", path("a.npy"), "--samples", path("b.npy"),
                                           "--truth", path("truth.npy"), "--labels", "alpha", "beta", "gamma",
                                           "--out", path("corner.svg")])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        XCTAssertTrue(result.stdout.contains("3 parameters"), result.stdout)
        let document = try Data(contentsOf: URL(fileURLWithPath: path("corner.svg")))
        let counter = ClassCounter()
        let parser = XMLParser(data: document)
        parser.delegate = counter
        XCTAssertTrue(parser.parse(), "corner.svg is not well-formed XML")
        XCTAssertEqual(counter.groups["histogram"], 3)
        XCTAssertEqual(counter.groups["contours"], 3)
        XCTAssertEqual(counter.texts.filter { ["alpha", "beta", "gamma", "a", "b"].contains($0) }.count, 7,
                       "alpha, beta, gamma under the bottom row, beta and gamma beside the left column, a and b in the legend: \(counter.texts)")
    }

    func testCornerPlotRefusesMismatchedTruth() throws {
        try NPYTestFile.write([[0, 1], [1, 2]], to: path("s.npy"))
        try NPYTestFile.write([[1, 2, 3]], to: path("t.npy"))
        let result = try BinaryRunner.run(["plot", "corner", "--samples", path("s.npy"), "--truth", path("t.npy"), "--out", path("c.svg")])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("holds 3 values but the samples have 2 parameters"), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("c.svg")))
    }

    func testCornerPlotNamesAMissingFile() throws {
        let result = try BinaryRunner.run(["plot", "corner", "--samples", path("missing.npy"), "--out", path("c.svg")])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("missing.npy"), result.stderr)
    }
}

/// Counts `<g class="…">` groups and collects text contents of an SVG.
final class ClassCounter: NSObject, XMLParserDelegate {
    var groups: [String: Int] = [:]
    var texts: [String] = []
    private var inText = false

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                qualifiedName qName: String?, attributes: [String: String] = [:]) {
        if elementName == "g", let c = attributes["class"] { groups[c, default: 0] += 1 }
        if elementName == "text" { inText = true; texts.append("") }
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?) {
        if elementName == "text" { inText = false }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if inText { texts[texts.count - 1] += string }
    }
}

/// Writes float64 .npy files, so that command tests need no Python.
enum NPYTestFile {
    static func write(_ rows: [[Double]], to path: String) throws {
        let cols = rows.first?.count ?? 0
        var header = "{'descr': '<f8', 'fortran_order': False, 'shape': (\(rows.count), \(cols)), }"
        // Magic (6) + version (2) + length (2) + header + newline, padded to a multiple of 64.
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0]
        let length = UInt16(header.utf8.count)
        bytes += [UInt8(length & 0xff), UInt8(length >> 8)]
        bytes += Array(header.utf8)
        for row in rows {
            for value in row { withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes += $0 } }
        }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }
}
