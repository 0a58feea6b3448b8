/// How θ and x are stored: little-endian IEEE-754 float32, densely packed, whatever the
/// host's byte order, so that a file copied between machines reads the same; shapes as
/// comma-separated dimensions ("5", "2,5").
enum FloatArrayCoding {
    static func encode(_ values: [Float]) -> [UInt8] {
        #if _endian(little)
        return values.withUnsafeBytes { Array($0) }
        #else
        return values.flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }
        #endif
    }

    /// Appends `bytes` (a whole number of float32) decoded to `out`; returns false when
    /// the byte count is not a multiple of 4.
    static func decode(_ bytes: [UInt8], appendingTo out: inout [Float]) -> Bool {
        guard bytes.count % 4 == 0 else { return false }
        let n = bytes.count / 4
        #if _endian(little)
        bytes.withUnsafeBytes { raw in
            out.append(contentsOf: UnsafeBufferPointer(start: raw.baseAddress?.assumingMemoryBound(to: Float.self), count: n))
        }
        #else
        for i in 0..<n {
            var bits: UInt32 = 0
            for b in 0..<4 { bits |= UInt32(bytes[4 * i + b]) << (8 * UInt32(b)) }
            out.append(Float(bitPattern: bits))
        }
        #endif
        return true
    }

    /// Appends raw little-endian float32 bytes (a whole number of floats) to `out`.
    static func decode(_ bytes: UnsafeRawBufferPointer, appendingTo out: inout [Float]) {
        let n = bytes.count / 4
        guard n > 0, let base = bytes.baseAddress else { return }
        #if _endian(little)
        // Column bytes carry no alignment guarantee, so copy rather than rebind.
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: n))
        out.withUnsafeMutableBytes { UnsafeMutableRawBufferPointer(rebasing: $0[(4 * start)...]).copyMemory(from: UnsafeRawBufferPointer(start: base, count: 4 * n)) }
        #else
        for i in 0..<n { out.append(Float(bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))) }
        #endif
    }

    static func decode(_ bytes: [UInt8]) -> [Float]? {
        var out = [Float]()
        out.reserveCapacity(bytes.count / 4)
        return decode(bytes, appendingTo: &out) ? out : nil
    }

    static func shapeText(_ shape: [Int]) -> String { shape.map(String.init).joined(separator: ",") }

    static func shape(_ text: String) -> [Int]? {
        let dims = text.split(separator: ",").map { Int($0) }
        guard !dims.isEmpty, dims.allSatisfy({ ($0 ?? 0) > 0 }) else { return nil }
        return dims.map { $0! }
    }
}
