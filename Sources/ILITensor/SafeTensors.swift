import Foundation

/// Named matrices in the safetensors format, readable by Python's `safetensors`.
///
/// The file is an 8-byte little-endian header length, a JSON header mapping each
/// name to its dtype, shape and byte range, and the raw little-endian data. Matrices
/// are written with 2-D shapes; 1-D tensors read back as one-row matrices, 0-D as 1×1.
///
/// ```swift
/// var file = SafeTensors<Float>()
/// file.tensors["layer.0.weight"] = weight
/// file.metadata["format"] = "ili"
/// try file.write(to: "model.safetensors")
/// let back = try SafeTensors<Float>.read(from: "model.safetensors")
/// ```
public struct SafeTensors<Scalar: TensorScalar> {
    public var tensors: [String: Matrix<Scalar>]
    /// Free-form string pairs stored under `__metadata__`.
    public var metadata: [String: String]

    public init(tensors: [String: Matrix<Scalar>] = [:], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    /// The tensor called `name`, or an error naming the file and the tensors it has.
    public func tensor(_ name: String, source: String = "safetensors data") throws -> Matrix<Scalar> {
        guard let m = tensors[name] else {
            throw FileFormatError(.missingTensor, path: source,
                                  "no tensor '\(name)' (the file has \(tensors.keys.sorted().joined(separator: ", ")))")
        }
        return m
    }

    public func write(to path: String) throws {
        try BinaryFile.write(encoded(), to: path)
    }

    public static func read(from path: String) throws -> SafeTensors {
        try SafeTensors(decoding: BinaryFile.read(path), source: path)
    }

    /// The file's bytes; names are laid out in sorted order so equal contents give equal bytes.
    public func encoded() -> [UInt8] {
        let dtype = Scalar.safetensorsDType
        let size = MemoryLayout<Scalar>.size
        var header = "{"
        var entries: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }
            entries.append("\"__metadata__\":{" + pairs.joined(separator: ",") + "}")
        }
        var offset = 0
        let names = tensors.keys.sorted()
        for name in names {
            let m = tensors[name]!
            let end = offset + m.count * size
            entries.append("\(jsonString(name)):{\"dtype\":\"\(dtype)\",\"shape\":[\(m.rows),\(m.cols)],\"data_offsets\":[\(offset),\(end)]}")
            offset = end
        }
        header += entries.joined(separator: ",") + "}"
        var headerBytes = Array(header.utf8)
        // Pad with spaces so the data starts 8-byte aligned, as the format recommends.
        while (8 + headerBytes.count) % 8 != 0 { headerBytes.append(0x20) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(8 + headerBytes.count + offset)
        bytes.appendLittleEndian(UInt64(headerBytes.count))
        bytes.append(contentsOf: headerBytes)
        for name in names { ElementBytes.encode(tensors[name]!, into: &bytes) }
        return bytes
    }

    /// Parses safetensors bytes; `source` names the file in errors.
    public init(decoding bytes: [UInt8], source: String) throws {
        func fail(_ code: FileFormatError.Code, _ message: String) -> FileFormatError {
            FileFormatError(code, path: source, message)
        }
        guard bytes.count >= 8 else {
            throw fail(.truncated, "\(bytes.count) bytes is too short for a safetensors file (8-byte header length missing)")
        }
        let headerLength = bytes.littleEndianInteger(at: 0, as: UInt64.self)
        guard headerLength <= UInt64(bytes.count - 8) else {
            throw fail(headerLength > 100_000_000 ? .badMagic : .truncated,
                       "header length \(headerLength) exceeds the \(bytes.count - 8) bytes that follow; not a safetensors file, or truncated")
        }
        let headerEnd = 8 + Int(headerLength)
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: Data(bytes[8..<headerEnd]))
        } catch {
            throw fail(.malformedHeader, "the JSON header does not parse: \(error.localizedDescription)")
        }
        guard let header = json as? [String: Any] else {
            throw fail(.malformedHeader, "the JSON header is not an object")
        }
        let data = bytes[headerEnd...]
        var tensors: [String: Matrix<Scalar>] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in header {
            if name == "__metadata__" {
                guard let m = value as? [String: Any] else { throw fail(.malformedHeader, "__metadata__ is not an object") }
                for (k, v) in m { metadata[k] = v as? String ?? "\(v)" }
                continue
            }
            guard let entry = value as? [String: Any],
                  let dtypeName = entry["dtype"] as? String,
                  let shape = (entry["shape"] as? [Any])?.compactMap({ ($0 as? NSNumber)?.intValue }),
                  let offsets = (entry["data_offsets"] as? [Any])?.compactMap({ ($0 as? NSNumber)?.intValue }),
                  offsets.count == 2 else {
                throw fail(.malformedHeader, "tensor '\(name)' lacks dtype, shape or data_offsets")
            }
            let dtype: ElementBytes.DType
            switch dtypeName {
            case "F32": dtype = .float32
            case "F64": dtype = .float64
            default:
                throw fail(.unsupportedDType, "tensor '\(name)' has dtype \(dtypeName); ili reads F32 and F64")
            }
            let (rows, cols): (Int, Int)
            switch shape.count {
            case 0: (rows, cols) = (1, 1)
            case 1: (rows, cols) = (1, shape[0])
            case 2: (rows, cols) = (shape[0], shape[1])
            default:
                throw fail(.unsupportedShape, "tensor '\(name)' has shape \(shape); ili reads tensors of rank 0, 1 or 2")
            }
            guard rows >= 0, cols >= 0, offsets[0] >= 0, offsets[1] >= offsets[0] else {
                throw fail(.malformedHeader, "tensor '\(name)' has a negative shape or reversed data_offsets")
            }
            guard offsets[1] - offsets[0] == rows * cols * dtype.size else {
                throw fail(.malformedHeader, "tensor '\(name)': shape \(shape) of \(dtypeName) needs \(rows * cols * dtype.size) bytes, data_offsets give \(offsets[1] - offsets[0])")
            }
            guard offsets[1] <= data.count else {
                throw fail(.truncated, "tensor '\(name)' ends at byte \(offsets[1]) of a data section of \(data.count) bytes")
            }
            let start = data.startIndex + offsets[0]
            tensors[name] = ElementBytes.decode(data[start..<(start + offsets[1] - offsets[0])],
                                                dtype: dtype, rows: rows, cols: cols)
        }
        self.init(tensors: tensors, metadata: metadata)
    }
}

/// A JSON string literal for `s`.
func jsonString(_ s: String) -> String {
    var out = "\""
    for scalar in s.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if scalar.value < 0x20 {
                out += String(format: "\\u%04x", scalar.value)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    return out + "\""
}
