// swift-tools-version:6.0
import PackageDescription

// Strict Swift 6 everywhere; warnings are treated as bugs (CI builds with -warnings-as-errors
// through `make test`).
let swift6: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "omnid",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "omnid", targets: ["omnid"]),
        .executable(name: "omni-sim", targets: ["omni-sim"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        // System libraries, found through pkg-config; apt names the Debian -dev package to install.
        .systemLibrary(name: "CALSA", pkgConfig: "alsa", providers: [.apt(["libasound2-dev"])]),
        .systemLibrary(name: "CGPIOD", pkgConfig: "libgpiod", providers: [.apt(["libgpiod-dev"])]),
        .systemLibrary(name: "CLibWebSockets", pkgConfig: "libwebsockets", providers: [.apt(["libwebsockets-dev"])]),
        // speexdsp's resampler: the mic's native rate to 16 kHz and the service's 24 kHz to the speaker's.
        .systemLibrary(name: "CSpeexDSP", pkgConfig: "speexdsp", providers: [.apt(["libspeexdsp-dev"])]),
        // toml++ (C++), the config parser; Swift reaches it only through COmniShim's omni_toml.h.
        .systemLibrary(name: "CTomlPlusPlus", providers: [.apt(["libtomlplusplus-dev"])]),
        // The one C shim: only what Swift cannot import directly (see each file's header).
        .target(
            name: "COmniShim", dependencies: ["CALSA", "CGPIOD", "CLibWebSockets", "CTomlPlusPlus"],
            // Must match how Debian built libtomlplusplus.so (also what its pkg-config file says).
            cxxSettings: [.define("TOML_HEADER_ONLY", to: "0"), .define("TOML_SHARED_LIB", to: "1")],
            // Only the C++ shim uses toml++, so no Swift import carries the module's link line.
            linkerSettings: [.linkedLibrary("tomlplusplus")]),

        .target(name: "RealtimeProtocol", swiftSettings: swift6),
        .target(
            name: "OmniCore",
            dependencies: [
                "RealtimeProtocol",
                "COmniShim",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swift6),
        .target(
            name: "OmniLinux",
            dependencies: ["OmniCore", "COmniShim", "CALSA", "CGPIOD", "CSpeexDSP", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swift6),
        .target(name: "SimulatorCore", dependencies: ["RealtimeProtocol"], swiftSettings: swift6),
        .executableTarget(
            name: "omnid",
            dependencies: [
                "OmniLinux", "OmniCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swift6),
        .executableTarget(
            name: "omni-sim",
            dependencies: [
                "SimulatorCore", "OmniLinux",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swift6),

        // Benchmarks (bench/README.md): built in release by bench/*/run.sh.
        .executableTarget(
            name: "omni-bench-audio", dependencies: ["OmniLinux", "OmniCore"], path: "bench/audio",
            exclude: ["README.md", "run.sh"], swiftSettings: swift6),

        .testTarget(name: "RealtimeProtocolTests", dependencies: ["RealtimeProtocol"], swiftSettings: swift6),
        .testTarget(name: "OmniCoreTests", dependencies: ["OmniCore"], swiftSettings: swift6),
        .testTarget(name: "SimulatorCoreTests", dependencies: ["SimulatorCore"], swiftSettings: swift6),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["OmniLinux", "OmniCore", "RealtimeProtocol", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swift6),
    ]
)
