// swift-tools-version:6.0
import PackageDescription

// Module layout: C libraries behind `C<Name>` system-library targets that expose
// only what ili calls; Swift modules stacked engine → nets → inference → validation,
// with the registry beside them, and the experiment loop (rounds) over all of those,
// the fleet (ZeroMQ coordinator and workers) over the loop; `ili` is the command-line tool.
// The numeric modules are compiled for AVX2 and FMA on x86-64 (every x86 server since
// 2013): the vectorized exp/tanh kernels and the element-wise loops run ~1.3x faster
// than with the baseline SSE2 target. `ILI_PORTABLE=1 swift build` builds for any
// x86-64 CPU; `ili doctor` says when this CPU cannot run the default build.
#if arch(x86_64)
let numericSettings: [SwiftSetting] = Context.environment["ILI_PORTABLE"] == nil
    ? [.unsafeFlags(["-target-cpu", "haswell"]), .define("ILI_AVX2")] : []
let kernelCSettings: [CSetting] = [.unsafeFlags(["-O3", "-fno-math-errno"]
    + (Context.environment["ILI_PORTABLE"] == nil ? ["-mavx2", "-mfma"] : []))]
#else
let numericSettings: [SwiftSetting] = []
let kernelCSettings: [CSetting] = [.unsafeFlags(["-O3", "-fno-math-errno"])]
#endif

let package = Package(
    name: "ili",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "ili", targets: ["ili"]),
        .library(name: "ILITensor", targets: ["ILITensor"]),
        .library(name: "ILINets", targets: ["ILINets"]),
        .library(name: "ILIInference", targets: ["ILIInference"]),
        .library(name: "ILIValidation", targets: ["ILIValidation"]),
        .library(name: "ILIRegistry", targets: ["ILIRegistry"]),
        .library(name: "ILIRounds", targets: ["ILIRounds"]),
        .library(name: "ILIFleet", targets: ["ILIFleet"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.0.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: [
        // MARK: - C libraries (Debian: libzmq3-dev, libopenblas-dev, libpq-dev, libsqlite3-dev)
        .systemLibrary(name: "CZeroMQ", path: "Sources/CZeroMQ", providers: [.apt(["libzmq3-dev"])]),
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CLibPQ", path: "Sources/CLibPQ", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", providers: [.apt(["libsqlite3-dev"])]),

        // MARK: - C kernels that Swift cannot vectorize
        .target(name: "CILIKernels", cSettings: kernelCSettings),

        // MARK: - Swift modules
        .target(
            name: "ILITensor",
            dependencies: [
                "COpenBLAS",
                "CILIKernels",
                .product(name: "RealModule", package: "swift-numerics"),
            ],
            swiftSettings: numericSettings
        ),
        .target(
            name: "ILINets",
            dependencies: [
                "ILITensor",
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: numericSettings
        ),
        .target(
            name: "ILIInference",
            dependencies: [
                "ILINets",
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: numericSettings
        ),
        .target(
            name: "ILIValidation",
            dependencies: ["ILIInference"],
            swiftSettings: numericSettings
        ),
        .target(
            name: "ILIRegistry",
            dependencies: ["CLibPQ", "CSQLite", "ILITensor"]
        ),
        .target(
            name: "ILIRounds",
            dependencies: ["ILIInference", "ILIValidation", "ILIRegistry"],
            swiftSettings: numericSettings
        ),
        .target(
            name: "ILIFleet",
            dependencies: ["CZeroMQ", "ILIRounds", "ILIInference", "ILIRegistry"]
        ),
        .executableTarget(
            name: "ili",
            dependencies: [
                "ILIRounds",
                "ILIFleet",
                "ILITensor",
                "ILINets",
                "ILIInference",
                "ILIValidation",
                "ILIRegistry",
                "CZeroMQ",
                "COpenBLAS",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: numericSettings
        ),

        // MARK: - Benchmarks (run by the scripts in Benchmarks/, always in release)
        .executableTarget(
            name: "ili-bench",
            dependencies: [
                "ILITensor",
                "ILINets",
                "ILIInference",
                "ILIValidation",
                "ILIRegistry",
                "ILIRounds",
                "ILIFleet",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Benchmarks/ili-bench",
            swiftSettings: numericSettings
        ),

        // MARK: - Tests
        .testTarget(name: "ILITensorTests", dependencies: ["ILITensor"]),
        .testTarget(name: "ILINetsTests", dependencies: ["ILINets"]),
        .testTarget(name: "ILIInferenceTests", dependencies: ["ILIInference", "ILIValidation"]),
        .testTarget(name: "ILIValidationTests", dependencies: ["ILIValidation"]),
        .testTarget(name: "ILIRegistryTests", dependencies: ["ILIRegistry", "ILITensor"]),
        .testTarget(name: "ILIRoundsTests", dependencies: ["ILIRounds"]),
        .testTarget(name: "ILIFleetTests", dependencies: ["ILIFleet", "ILIRounds", "ILIRegistry"]),
        .testTarget(name: "IliCommandTests", dependencies: ["ili", "ILIRegistry", "ILITensor"]),
    ]
)
