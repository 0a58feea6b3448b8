import Foundation

/// Whole-file reads and writes that report failures as `FileFormatError`s naming the path.
enum BinaryFile {
    static func read(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            let exists = FileManager.default.fileExists(atPath: path)
            throw FileFormatError(.cannotOpen, path: path, exists ? "cannot read the file (permissions?)" : "no such file")
        }
        return [UInt8](data)
    }

    static func write(_ bytes: [UInt8], to path: String) throws {
        do {
            try Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw FileFormatError(.cannotWrite, path: path, "cannot write: \(error.localizedDescription)")
        }
    }
}

extension Array where Element == UInt8 {
    mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }

    func littleEndianInteger<T: FixedWidthInteger>(at offset: Int, as: T.Type = T.self) -> T {
        var value: T = 0
        Swift.withUnsafeMutableBytes(of: &value) { raw in
            for i in 0..<MemoryLayout<T>.size { raw[i] = self[offset + i] }
        }
        return T(littleEndian: value)
    }
}

/// Conversion between matrices and little-endian float32/float64 bytes.
enum ElementBytes {
    enum DType: String { case float32, float64
        var size: Int { self == .float32 ? 4 : 8 }
    }

    static func decode<S: TensorScalar>(_ bytes: ArraySlice<UInt8>, dtype: DType, rows: Int, cols: Int) -> Matrix<S> {
        let base = bytes.startIndex
        return Matrix(rows: rows, cols: cols) { out in
            bytes.withUnsafeBytes { raw in
                switch dtype {
                case .float32:
                    for i in 0..<out.count {
                        let bits = raw.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)
                        out[i] = S(Float(bitPattern: UInt32(littleEndian: bits)))
                    }
                case .float64:
                    for i in 0..<out.count {
                        let bits = raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)
                        out[i] = S(Double(bitPattern: UInt64(littleEndian: bits)))
                    }
                }
            }
            _ = base
        }
    }

    static func encode<S: TensorScalar>(_ m: Matrix<S>, into bytes: inout [UInt8]) {
        bytes.reserveCapacity(bytes.count + m.count * MemoryLayout<S>.size)
        for x in m.storage {
            if S.self == Float.self {
                bytes.appendLittleEndian(Float(x).bitPattern)
            } else {
                bytes.appendLittleEndian(Double(x).bitPattern)
            }
        }
    }

    static func dtype<S: TensorScalar>(of _: S.Type) -> DType {
        S.self == Float.self ? .float32 : .float64
    }
}
