import RealModule

/// Tick positions at round numbers (1, 2, 2.5 or 5 times a power of ten) and their labels.
///
/// ```swift
/// NiceTicks.positions(from: 0.03, to: 0.97, about: 5)   // [0.2, 0.4, 0.6, 0.8]
/// NiceTicks.label(0.30000000000000004, step: 0.1)       // "0.3"
/// ```
public enum NiceTicks {
    /// The round step that gives about `count` intervals over `span`.
    public static func step(span: Double, about count: Int) -> Double {
        guard span > 0, span.isFinite else { return 1 }
        let raw = span / Double(Swift.max(count, 1))
        let magnitude = Double.pow(10, (Double.log10(raw)).rounded(.down))
        let fraction = raw / magnitude
        let nice: Double = fraction < 1.5 ? 1 : fraction < 2.25 ? 2 : fraction < 3.5 ? 2.5 : fraction < 7.5 ? 5 : 10
        return nice * magnitude
    }

    /// Multiples of the round step inside [low, high].
    public static func positions(from low: Double, to high: Double, about count: Int = 5) -> [Double] {
        let s = step(span: high - low, about: count)
        var ticks: [Double] = []
        var k = (low / s).rounded(.up)
        while k * s <= high + s * 1e-9 {
            ticks.append(k * s)
            k += 1
        }
        return ticks
    }

    /// A label with as many decimals as the step needs, and no "-0".
    public static func label(_ value: Double, step: Double) -> String {
        // A tick computed as k·step can miss zero by a rounding error; it is zero.
        let value = Swift.abs(value) < Swift.abs(step) * 1e-9 ? 0 : value
        let magnitude = Swift.abs(value)
        if magnitude != 0 && (magnitude >= 1e5 || magnitude < 1e-4) {
            return formatted(value, scientific: true, decimals: 1)
        }
        // A step of 0.25 needs two decimals, of 0.2 one: one more whenever the leading digits are 25.
        let leading = step / Double.pow(10, Double.log10(step).rounded(.down))
        let extra = Swift.abs(leading - 2.5) < 1e-6 ? 1 : 0
        let decimals = Swift.min(6, Swift.max(0, Int((-Double.log10(step) - 1e-9).rounded(.up)) + extra))
        let text = formatted(value, scientific: false, decimals: decimals)
        return text.hasPrefix("-") && Double(text) == 0 ? String(text.dropFirst()) : text
    }

    static func formatted(_ value: Double, scientific: Bool, decimals: Int) -> String {
        if scientific {
            let exponent = Int(Double.log10(Swift.abs(value)).rounded(.down))
            let mantissa = value / Double.pow(10, Double(exponent))
            return formatted(mantissa, scientific: false, decimals: decimals) + "e" + String(exponent)
        }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let rounded = (value * scale).rounded() / scale
        if decimals == 0 { return String(Int(rounded)) }
        let negative = rounded < 0
        let whole = Int(Swift.abs(rounded) * scale + 0.5)
        let integerPart = whole / Int(scale)
        var fraction = String(whole % Int(scale))
        while fraction.count < decimals { fraction = "0" + fraction }
        return (negative ? "-" : "") + String(integerPart) + "." + fraction
    }
}
