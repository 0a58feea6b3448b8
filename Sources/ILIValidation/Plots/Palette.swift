/// Series styles that stay apart when printed in grey: each differs from the others in
/// lightness as well as hue, and in dash pattern.
///
/// ```swift
/// let style = Palette.series(1)
/// svg.polyline(points, style: style.stroke(width: 1.5))
/// ```
public enum Palette {
    public struct SeriesStyle: Sendable {
        public var color: String
        /// An SVG stroke-dasharray, empty for solid.
        public var dash: String

        public func stroke(width: Double = 1.5, opacity: Double = 1) -> String {
            "fill:none;stroke:\(color);stroke-width:\(SVGWriter.number(width));stroke-linejoin:round;stroke-linecap:round"
                + (dash.isEmpty ? "" : ";stroke-dasharray:\(dash)")
                + (opacity < 1 ? ";stroke-opacity:\(SVGWriter.number(opacity))" : "")
        }

        public func fill(opacity: Double) -> String {
            "fill:\(color);fill-opacity:\(SVGWriter.number(opacity));stroke:none"
        }
    }

    /// Dark navy, orange, teal, purple, olive: greys of about 20%, 55%, 40%, 70% and 30% lightness.
    static let styles: [SeriesStyle] = [
        SeriesStyle(color: "#1b2a4a", dash: ""),
        SeriesStyle(color: "#e07b24", dash: "6 3"),
        SeriesStyle(color: "#2a8a8a", dash: "2 2"),
        SeriesStyle(color: "#b7a0d8", dash: "8 3 2 3"),
        SeriesStyle(color: "#5a6b1e", dash: "4 4"),
    ]

    public static func series(_ index: Int) -> SeriesStyle {
        styles[index % styles.count]
    }

    /// The truth markers and the ideal diagonal.
    public static let reference = "#c0392b"
    /// Bands of what chance allows.
    public static let band = "#9a9a9a"
    public static let axis = "#333333"
    public static let grid = "#e6e6e6"
}
