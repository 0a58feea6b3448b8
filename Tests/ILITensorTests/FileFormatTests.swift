import Foundation
import ILITensor
import XCTest

final class FileFormatTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("ili-io-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    func assertFails(_ code: FileFormatError.Code, mentioning words: [String], file: StaticString = #filePath,
                     line: UInt = #line, _ body: () throws -> Void) {
        do {
            try body()
            XCTFail("expected a \(code) error", file: file, line: line)
        } catch let error as FileFormatError {
            XCTAssertEqual(error.code, code, "\(error)", file: file, line: line)
            for word in words {
                XCTAssertTrue(error.description.contains(word), "'\(word)' missing from: \(error)", file: file, line: line)
            }
        } catch {
            XCTFail("unexpected error \(error)", file: file, line: line)
        }
    }

    // MARK: .npy

    func testNPYRoundTripsFloatAndDoubleInOneAndTwoDimensions() throws {
        var rng = RandomSource(seed: 9)
        let f: Matrix<Float> = rng.normalMatrix(rows: 7, cols: 3)
        try NPYFile.write(f, to: path("f.npy"))
        let fr = try NPYFile.read(path("f.npy"))
        XCTAssertEqual(fr.shape, [7, 3])
        XCTAssertEqual(fr.descriptor, "<f4")
        XCTAssertEqual(fr.matrix(as: Float.self), f)

        let d: Matrix<Double> = rng.normalMatrix(rows: 1, cols: 5)
        try NPYFile.write(d, to: path("d.npy"), oneDimensional: true)
        let dr = try NPYFile.read(path("d.npy"))
        XCTAssertEqual(dr.shape, [5])
        XCTAssertTrue(dr.isOneDimensional)
        XCTAssertEqual(dr.matrix(as: Double.self), d)

        let bytes = try Data(contentsOf: URL(fileURLWithPath: path("f.npy")))
        XCTAssertEqual((bytes.count - 7 * 3 * 4) % 64, 0, "data must start on a 64-byte boundary")
    }

    func testNPYInteroperatesWithNumPy() throws {
        let python = try interoperabilityPython(importing: "numpy")
        let script = """
        import numpy as np, sys
        d = sys.argv[1]
        np.save(d + '/from_numpy.npy', np.arange(12, dtype=np.float64).reshape(3, 4) / 8)
        a = np.load(d + '/from_ili.npy')
        assert a.dtype == np.float32 and a.shape == (2, 3), (a.dtype, a.shape)
        assert np.allclose(a, [[1, 2, 3], [4, 5, 6.5]])
        np.save(d + '/vector.npy', np.array([1.5, -2.0], dtype=np.float32))
        """
        try NPYFile.write(Matrix<Float>([[1, 2, 3], [4, 5, 6.5]]), to: path("from_ili.npy"))
        let status = try run(python, ["-c", script, directory.path])
        XCTAssertEqual(status, 0, "numpy rejected ili's file")
        let fromNumpy = try NPYFile.read(path("from_numpy.npy"))
        XCTAssertEqual(fromNumpy.shape, [3, 4])
        XCTAssertEqual(fromNumpy.matrix(as: Double.self)[2, 3], 11.0 / 8)
        XCTAssertEqual(try NPYFile.read(path("vector.npy")).matrix(as: Float.self), Matrix([[1.5, -2.0]]))
    }

    func testNPYRejectsBadFilesWithClearErrors() throws {
        let good = NPYFile.encode(Matrix<Float>([[1, 2], [3, 4]]))
        func header(_ dict: String) -> [UInt8] {
            var h = dict
            while (10 + h.utf8.count + 1) % 64 != 0 { h += " " }
            h += "\n"
            var b: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(h.utf8.count & 0xff), UInt8(h.utf8.count >> 8)]
            b += Array(h.utf8)
            return b + [UInt8](repeating: 0, count: 64)
        }
        try Data(Array("PK not numpy".utf8)).write(to: URL(fileURLWithPath: path("magic.npy")))
        assertFails(.badMagic, mentioning: ["magic.npy", "not a .npy file"]) { _ = try NPYFile.read(path("magic.npy")) }

        try Data(header("{'descr': '<i8', 'fortran_order': False, 'shape': (2, 2), }")).write(to: URL(fileURLWithPath: path("int.npy")))
        assertFails(.unsupportedDType, mentioning: ["int.npy", "<i8", "float32"]) { _ = try NPYFile.read(path("int.npy")) }

        try Data(header("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }")).write(to: URL(fileURLWithPath: path("fortran.npy")))
        assertFails(.fortranOrder, mentioning: ["fortran.npy", "Fortran"]) { _ = try NPYFile.read(path("fortran.npy")) }

        try Data(header("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2, 2), }")).write(to: URL(fileURLWithPath: path("cube.npy")))
        assertFails(.unsupportedShape, mentioning: ["cube.npy", "3 dimensions"]) { _ = try NPYFile.read(path("cube.npy")) }

        try Data(good.dropLast(3)).write(to: URL(fileURLWithPath: path("short.npy")))
        assertFails(.truncated, mentioning: ["short.npy", "16 data bytes", "13"]) { _ = try NPYFile.read(path("short.npy")) }

        assertFails(.cannotOpen, mentioning: ["absent.npy", "no such file"]) { _ = try NPYFile.read(path("absent.npy")) }
    }

    // MARK: safetensors

    func testSafeTensorsRoundTripWithMetadata() throws {
        var rng = RandomSource(seed: 4)
        var file = SafeTensors<Float>()
        file.tensors["made.0.weight"] = rng.normalMatrix(rows: 50, cols: 12)
        file.tensors["made.0.bias"] = rng.normalMatrix(rows: 1, cols: 50)
        file.tensors["scalar"] = Matrix(scalar: 3)
        file.metadata = ["format": "ili", "note": "quotes \" and \\ survive"]
        try file.write(to: path("m.safetensors"))
        let back = try SafeTensors<Float>.read(from: path("m.safetensors"))
        XCTAssertEqual(back.tensors, file.tensors)
        XCTAssertEqual(back.metadata, file.metadata)
        // Reading as Double widens exactly.
        let wide = try SafeTensors<Double>.read(from: path("m.safetensors"))
        XCTAssertEqual(wide.tensors["made.0.bias"], file.tensors["made.0.bias"]!.converted(to: Double.self))
        XCTAssertEqual(file.encoded(), back.encoded(), "encoding is deterministic")
    }

    func testSafeTensorsLayoutFollowsTheFormat() throws {
        let file = SafeTensors<Float>(tensors: ["a": Matrix([[1, 2]]), "b": Matrix([[3]])])
        let bytes = file.encoded()
        var n: UInt64 = 0
        for i in 0..<8 { n |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        XCTAssertEqual((8 + Int(n)) % 8, 0)
        let header = try JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + Int(n))])) as! [String: Any]
        let a = header["a"] as! [String: Any]
        XCTAssertEqual(a["dtype"] as? String, "F32")
        XCTAssertEqual(a["shape"] as? [Int], [1, 2])
        XCTAssertEqual(a["data_offsets"] as? [Int], [0, 8])
        XCTAssertEqual((header["b"] as! [String: Any])["data_offsets"] as? [Int], [8, 12])
        XCTAssertEqual(bytes.count, 8 + Int(n) + 12)
        XCTAssertEqual(Array(bytes[(8 + Int(n))..<(8 + Int(n) + 4)]), [0, 0, 0x80, 0x3f], "1.0 as little-endian float32")
    }

    func testSafeTensorsRejectsBadFiles() throws {
        let good = SafeTensors<Float>(tensors: ["w": Matrix([[1, 2], [3, 4]])]).encoded()
        assertFails(.truncated, mentioning: ["x.safetensors", "too short"]) {
            _ = try SafeTensors<Float>(decoding: [1, 2, 3], source: "x.safetensors")
        }
        assertFails(.truncated, mentioning: ["x.safetensors", "'w'"]) {
            _ = try SafeTensors<Float>(decoding: Array(good.dropLast(2)), source: "x.safetensors")
        }
        assertFails(.badMagic, mentioning: ["x.safetensors", "not a safetensors file"]) {
            _ = try SafeTensors<Float>(decoding: Array("this is plain text, not tensors".utf8), source: "x.safetensors")
        }
        func withHeader(_ json: String) -> [UInt8] {
            var b: [UInt8] = []
            var n = UInt64(json.utf8.count)
            for _ in 0..<8 { b.append(UInt8(n & 0xff)); n >>= 8 }
            return b + Array(json.utf8) + [UInt8](repeating: 0, count: 16)
        }
        assertFails(.unsupportedDType, mentioning: ["F16"]) {
            _ = try SafeTensors<Float>(decoding: withHeader(#"{"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}"#), source: "h.safetensors")
        }
        assertFails(.malformedHeader, mentioning: ["JSON"]) {
            _ = try SafeTensors<Float>(decoding: withHeader("{not json"), source: "j.safetensors")
        }
        assertFails(.malformedHeader, mentioning: ["needs 8 bytes"]) {
            _ = try SafeTensors<Float>(decoding: withHeader(#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#), source: "s.safetensors")
        }
        assertFails(.missingTensor, mentioning: ["'bias'", "w"]) {
            _ = try SafeTensors<Float>(decoding: good, source: "g.safetensors").tensor("bias", source: "g.safetensors")
        }
    }

    func testSafeTensorsInteroperatesWithPythonSafetensors() throws {
        let python = try interoperabilityPython(importing: "safetensors.numpy")
        let script = """
        import sys, numpy as np
        from safetensors.numpy import load_file, save_file
        d = sys.argv[1]
        t = load_file(d + '/ili.safetensors')
        assert t['w'].dtype == np.float32 and t['w'].shape == (2, 3), t
        assert np.array_equal(t['w'], [[1, 2, 3], [4, 5, 6]])
        save_file({'a': np.arange(6, dtype=np.float32).reshape(2, 3), 'v': np.full(4, 0.25)}, d + '/py.safetensors', metadata={'k': 'v'})
        """
        try SafeTensors<Float>(tensors: ["w": Matrix([[1, 2, 3], [4, 5, 6]])]).write(to: path("ili.safetensors"))
        XCTAssertEqual(try run(python, ["-c", script, directory.path]), 0, "python safetensors rejected ili's file")
        let back = try SafeTensors<Double>.read(from: path("py.safetensors"))
        XCTAssertEqual(back.tensors["a"], Matrix([[0, 1, 2], [3, 4, 5]]))
        XCTAssertEqual(back.tensors["v"], Matrix([[0.25, 0.25, 0.25, 0.25]]))
        XCTAssertEqual(back.metadata, ["k": "v"])
    }

    // MARK: helpers

    /// A Python that can import `module`: `ILI_PYTHON` (ops/test points it at a virtual
    /// environment with numpy and safetensors), else a python3 on PATH. Without one the
    /// test skips, unless ILI_REQUIRE_ALL=1 (set by CI) makes that a failure.
    func interoperabilityPython(importing module: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let environment = ProcessInfo.processInfo.environment
        let candidates = [environment["ILI_PYTHON"]].compactMap { $0 } + pathCandidates("python3") + ["/usr/bin/python3"]
        if let python = candidates.first(where: {
            FileManager.default.isExecutableFile(atPath: $0) && (try? run($0, ["-c", "import \(module)"])) == 0
        }) {
            return python
        }
        let reason = "no Python that imports \(module) (ops/test makes one; or set ILI_PYTHON)"
        if environment["ILI_REQUIRE_ALL"] == "1" {
            XCTFail("ILI_REQUIRE_ALL=1 but there is \(reason)", file: file, line: line)
        }
        throw XCTSkip(reason)
    }

    func pathCandidates(_ name: String) -> [String] {
        (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map { "\($0)/\(name)" }
    }

    func run(_ executable: String, _ arguments: [String]) throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }
}
