/// NumPy `.npy` arrays of float32 or float64, little-endian, C order, 1-D or 2-D.
///
/// A 1-D array of n values reads as a 1×n matrix, and `shape` keeps the distinction.
///
/// ```swift
/// let theta = try NPYFile.read("theta.npy").matrix(as: Float.self)     // 10000×2
/// try NPYFile.write(samples, to: "samples.npy")                         // float32 for Matrix<Float>
/// try NPYFile.write(observation, to: "obs.npy", oneDimensional: true)   // shape (n,)
/// ```
public struct NPYFile: Sendable {
    /// The array's shape as stored: `[n]` or `[rows, cols]`.
    public let shape: [Int]
    /// The stored element type, `"<f4"` or `"<f8"`.
    public let descriptor: String
    /// The elements, widened to double.
    public let values: Matrix<Double>

    public var isOneDimensional: Bool { shape.count == 1 }

    /// The elements as a matrix of `S` (1-D arrays as one row).
    public func matrix<S: TensorScalar>(as _: S.Type = S.self) -> Matrix<S> {
        S.self == Double.self ? values as! Matrix<S> : values.converted(to: S.self)
    }

    static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)

    public static func read(_ path: String) throws -> NPYFile {
        try NPYFile(decoding: BinaryFile.read(path), source: path)
    }

    /// Parses `.npy` bytes; `source` names the file in errors.
    public init(decoding bytes: [UInt8], source: String) throws {
        func fail(_ code: FileFormatError.Code, _ message: String) -> FileFormatError {
            FileFormatError(code, path: source, message)
        }
        guard bytes.count >= 10, Array(bytes[0..<6]) == Self.magic else {
            throw fail(.badMagic, "not a .npy file (it does not start with \\x93NUMPY); save arrays with numpy.save")
        }
        let major = bytes[6]
        let headerLength: Int, headerStart: Int
        switch major {
        case 1:
            headerLength = Int(bytes.littleEndianInteger(at: 8, as: UInt16.self)); headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw fail(.truncated, "the file ends inside the .npy preamble") }
            headerLength = Int(bytes.littleEndianInteger(at: 8, as: UInt32.self)); headerStart = 12
        default:
            throw fail(.malformedHeader, ".npy format version \(major) is not supported (versions 1-3 are)")
        }
        guard headerStart + headerLength <= bytes.count else {
            throw fail(.truncated, "the header claims \(headerLength) bytes but the file has \(bytes.count - headerStart) after the preamble")
        }
        let header = String(decoding: bytes[headerStart..<(headerStart + headerLength)], as: UTF8.self)
        guard let descr = Self.quotedValue(of: "descr", in: header) else {
            throw fail(.malformedHeader, "header has no 'descr': \(header.trimmingTrailingWhitespace)")
        }
        let dtype: ElementBytes.DType
        switch descr {
        case "<f4": dtype = .float32
        case "<f8": dtype = .float64
        case ">f4", ">f8":
            throw fail(.unsupportedDType, "big-endian dtype '\(descr)'; convert with x.astype('<f4') before saving")
        default:
            throw fail(.unsupportedDType, "unsupported dtype '\(descr)': ili reads float32 ('<f4') or float64 ('<f8') arrays; convert with x.astype('float32')")
        }
        guard let fortran = Self.rawValue(of: "fortran_order", in: header) else {
            throw fail(.malformedHeader, "header has no 'fortran_order': \(header.trimmingTrailingWhitespace)")
        }
        if fortran.hasPrefix("True") {
            throw fail(.fortranOrder, "array is in Fortran (column-major) order; save numpy.ascontiguousarray(x) instead")
        }
        guard let shapeText = Self.tupleValue(of: "shape", in: header) else {
            throw fail(.malformedHeader, "header has no 'shape': \(header.trimmingTrailingWhitespace)")
        }
        let parts = shapeText.split(separator: ",").map { $0.trimmingWhitespace }.filter { !$0.isEmpty }
        let dims = parts.compactMap { Int($0) }
        guard dims.count == parts.count, dims.allSatisfy({ $0 >= 0 }) else {
            throw fail(.malformedHeader, "shape (\(shapeText)) is not a tuple of sizes")
        }
        guard dims.count == 1 || dims.count == 2 else {
            throw fail(.unsupportedShape, "shape (\(shapeText)) has \(dims.count) dimensions; ili reads 1-D or 2-D arrays")
        }
        let rows = dims.count == 2 ? dims[0] : 1
        let cols = dims.count == 2 ? dims[1] : dims[0]
        let dataStart = headerStart + headerLength
        let needed = rows * cols * dtype.size
        guard bytes.count - dataStart >= needed else {
            throw fail(.truncated, "shape (\(shapeText)) of \(descr) needs \(needed) data bytes, the file has \(bytes.count - dataStart)")
        }
        self.shape = dims
        self.descriptor = descr
        self.values = ElementBytes.decode(bytes[dataStart..<(dataStart + needed)], dtype: dtype, rows: rows, cols: cols)
    }

    /// The bytes of a version-1.0 `.npy` file holding `matrix` (float32 for `Float`, float64 for `Double`).
    public static func encode<S: TensorScalar>(_ matrix: Matrix<S>, oneDimensional: Bool = false) -> [UInt8] {
        precondition(!oneDimensional || matrix.rows == 1 || matrix.cols == 1,
                     "a \(matrix.shapeDescription) matrix is not one-dimensional")
        let shape = oneDimensional ? "(\(matrix.count),)" : "(\(matrix.rows), \(matrix.cols))"
        var header = "{'descr': '\(S.npyDescriptor)', 'fortran_order': False, 'shape': \(shape), }"
        // Pad with spaces, ending in a newline, so the data starts on a 64-byte boundary.
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var bytes = magic + [1, 0]
        bytes.appendLittleEndian(UInt16(header.utf8.count))
        bytes.append(contentsOf: header.utf8)
        ElementBytes.encode(matrix, into: &bytes)
        return bytes
    }

    public static func write<S: TensorScalar>(_ matrix: Matrix<S>, to path: String, oneDimensional: Bool = false) throws {
        try BinaryFile.write(encode(matrix, oneDimensional: oneDimensional), to: path)
    }

    // MARK: Header parsing (a Python dict literal with fixed keys)

    static func rawValue(of key: String, in header: String) -> Substring? {
        for quote in ["'", "\""] {
            if let r = header.range(of: quote + key + quote) {
                var rest = header[r.upperBound...].drop { $0 == " " }
                guard rest.first == ":" else { continue }
                rest = rest.dropFirst().drop { $0 == " " }
                return rest
            }
        }
        return nil
    }

    static func quotedValue(of key: String, in header: String) -> String? {
        guard let rest = rawValue(of: key, in: header), let q = rest.first, q == "'" || q == "\"" else { return nil }
        let body = rest.dropFirst()
        guard let end = body.firstIndex(of: q) else { return nil }
        return String(body[..<end])
    }

    static func tupleValue(of key: String, in header: String) -> String? {
        guard let rest = rawValue(of: key, in: header), rest.first == "(", let end = rest.firstIndex(of: ")") else { return nil }
        return String(rest[rest.index(after: rest.startIndex)..<end])
    }
}

extension StringProtocol {
    var trimmingWhitespace: String {
        String(drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
    var trimmingTrailingWhitespace: String {
        String(String(reversed().drop { $0.isWhitespace }).reversed())
    }
}
