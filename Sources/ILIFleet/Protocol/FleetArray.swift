/// A numeric array carried in its own frame: raw little-endian floats, C order, with the
/// shape and dtype the header declares.
public struct FleetArray: Sendable, Equatable {
    public enum DType: String, Sendable, Codable {
        case float32 = "<f4"
        case float64 = "<f8"

        public var byteCount: Int { self == .float32 ? 4 : 8 }
    }

    public var shape: [Int]
    public var dtype: DType
    /// The frame itself.
    public var bytes: [UInt8]

    public init(shape: [Int], dtype: DType, bytes: [UInt8]) {
        self.shape = shape
        self.dtype = dtype
        self.bytes = bytes
    }

    public var count: Int { shape.reduce(1, *) }
    public var rows: Int { shape.first ?? 0 }
    /// Values per row: the product of every dimension after the first.
    public var rowWidth: Int { shape.dropFirst().reduce(1, *) }

    public init(float32 values: [Float], shape: [Int]) {
        precondition(shape.reduce(1, *) == values.count, "shape \(shape) does not hold \(values.count) values")
        var bytes = [UInt8](repeating: 0, count: values.count * 4)
        bytes.withUnsafeMutableBytes { out in
            for (i, v) in values.enumerated() { out.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self) }
        }
        self.init(shape: shape, dtype: .float32, bytes: bytes)
    }

    public init(float64 values: [Double], shape: [Int]) {
        precondition(shape.reduce(1, *) == values.count, "shape \(shape) does not hold \(values.count) values")
        var bytes = [UInt8](repeating: 0, count: values.count * 8)
        bytes.withUnsafeMutableBytes { out in
            for (i, v) in values.enumerated() { out.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: 8 * i, as: UInt64.self) }
        }
        self.init(shape: shape, dtype: .float64, bytes: bytes)
    }

    /// The values as float32 (float64 values are rounded).
    public func floats() -> [Float] {
        bytes.withUnsafeBytes { raw in
            switch dtype {
            case .float32:
                return (0..<count).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
            case .float64:
                return (0..<count).map { Float(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * $0, as: UInt64.self)))) }
            }
        }
    }

    /// The values as float64.
    public func doubles() -> [Double] {
        bytes.withUnsafeBytes { raw in
            switch dtype {
            case .float32:
                return (0..<count).map { Double(Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self)))) }
            case .float64:
                return (0..<count).map { Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * $0, as: UInt64.self))) }
            }
        }
    }
}
