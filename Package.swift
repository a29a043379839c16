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
        // libjpeg-turbo's TurboJPEG API: camera frames to JPEG (omnid), JPEG to pixels (omni-sim).
        .systemLibrary(name: "CTurboJPEG", pkgConfig: "libturbojpeg", providers: [.apt(["libturbojpeg0-dev"])]),
        // C shims, one per library: only what Swift cannot import directly (see each header).
        .target(name: "CSystemShim"),
        .target(name: "CALSAShim", dependencies: ["CALSA"]),
        .target(name: "CGPIOShim", dependencies: ["CGPIOD"]),
        // OpenSSL directly for the client TLS context only (tls_client.c); lws links it anyway.
        .target(name: "CWebSocketShim", dependencies: ["CLibWebSockets"],
                linkerSettings: [.linkedLibrary("ssl"), .linkedLibrary("crypto")]),
        // V4L2 (kernel headers only): the VIDIOC_* request numbers and ioctl, which Swift cannot import.
        .target(name: "CV4L2Shim"),
        .target(
            name: "CTomlShim", dependencies: ["CTomlPlusPlus"],
            // Must match how Debian built libtomlplusplus.so (also what its pkg-config file says).
            cxxSettings: [.define("TOML_HEADER_ONLY", to: "0"), .define("TOML_SHARED_LIB", to: "1")],
            // Only the C++ shim uses toml++, so no Swift import carries the module's link line.
            linkerSettings: [.linkedLibrary("tomlplusplus")]),

        // Pure Swift: the wire protocol, and the appliance's logic (no C, no I/O).
        .target(name: "RealtimeProtocol", swiftSettings: swift6),
        .target(
            name: "OmniCore",
            dependencies: ["RealtimeProtocol", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swift6),
        // POSIX plumbing every binary shares: threads, the journald log handler, time, sockets.
        .target(
            name: "OmniSystem", dependencies: ["CSystemShim", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swift6),
        // The toml++ side of OmniCore's config seam (TOMLSyntax.swift).
        .target(name: "OmniTOML", dependencies: ["OmniCore", "CTomlShim"], swiftSettings: swift6),
        // libjpeg-turbo, wrapped once: encode planes or RGB, decode headers and pixels.
        .target(name: "OmniJPEG", dependencies: ["CTurboJPEG"], swiftSettings: swift6),
        // libwebsockets client and server: omnid's transport and omni-sim's listener.
        .target(
            name: "OmniWebSocket",
            dependencies: ["OmniCore", "OmniSystem", "CWebSocketShim", "CSystemShim", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swift6),
        // The device layer: ALSA, GPIO, control socket, systemd, the controller loop.
        .target(
            name: "OmniLinux",
            dependencies: ["OmniCore", "OmniSystem", "OmniTOML", "OmniWebSocket", "CSystemShim", "CALSAShim", "CGPIOShim", "CALSA",
                           "CGPIOD", "CSpeexDSP", "OmniJPEG", "CV4L2Shim", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swift6),
        .target(name: "SimulatorCore", dependencies: ["RealtimeProtocol"], swiftSettings: swift6),
        .executableTarget(
            name: "omnid",
            dependencies: [
                // No ArgumentParser: its FoundationEssentials dependency was a quarter of the
                // static binary (OmnidCommand.swift parses the few options by hand).
                "OmniLinux", "OmniCore", "OmniWebSocket", "OmniSystem",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swift6),
        .executableTarget(
            name: "omni-sim",
            dependencies: [
                "SimulatorCore", "OmniWebSocket", "OmniSystem", "OmniJPEG",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swift6),

        // Benchmarks (bench/README.md): built in release by bench/*/run.sh.
        .executableTarget(
            name: "omni-bench-audio", dependencies: ["OmniLinux", "OmniCore"], path: "bench/audio",
            exclude: ["README.md", "run.sh"], swiftSettings: swift6),
        .executableTarget(
            name: "omni-bench-aec", dependencies: ["OmniLinux", "OmniCore"], path: "bench/aec",
            exclude: ["README.md", "run.sh", "handsfree.sh", "webrtc"], swiftSettings: swift6),

        .executableTarget(
            name: "omni-bench-camera", dependencies: ["OmniLinux", "OmniCore", "OmniJPEG", .product(name: "Logging", package: "swift-log")],
            path: "bench/camera", exclude: ["README.md", "run.sh", "latency.sh"], swiftSettings: swift6),

        .testTarget(name: "RealtimeProtocolTests", dependencies: ["RealtimeProtocol"], swiftSettings: swift6),
        .testTarget(name: "OmniCoreTests", dependencies: ["OmniCore"], swiftSettings: swift6),
        .testTarget(name: "ConfigFileTests", dependencies: ["OmniCore", "OmniTOML"], swiftSettings: swift6),
        .testTarget(name: "SimulatorCoreTests", dependencies: ["SimulatorCore"], swiftSettings: swift6),
        // The camera pipeline: libjpeg-turbo for real, V4L2 through a fake kernel (CameraTests/FakeV4L2Kernel.swift).
        .testTarget(
            name: "CameraTests",
            dependencies: ["OmniLinux", "OmniJPEG", "OmniCore", "OmniSystem", "RealtimeProtocol", "CV4L2Shim", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swift6),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["OmniLinux", "OmniWebSocket", "OmniSystem", "OmniCore", "RealtimeProtocol", "CSystemShim", "CWebSocketShim", "CLibWebSockets", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swift6),

        // Fuzzing (fuzz/README.md): the targets as a library, so FuzzRegressionTests replays the
        // committed corpus and crash reproducers in every test run, and their driver, which
        // fuzz/run.sh builds with libFuzzer and which otherwise only replays files.
        .target(
            name: "OmniFuzz", dependencies: ["RealtimeProtocol", "OmniCore", "OmniTOML", "OmniLinux"], path: "fuzz/Harness",
            swiftSettings: swift6),
        .executableTarget(name: "omni-fuzz", dependencies: ["OmniFuzz"], path: "fuzz/Driver", swiftSettings: swift6),
        .testTarget(name: "FuzzRegressionTests", dependencies: ["OmniFuzz"], swiftSettings: swift6),
    ]
)
