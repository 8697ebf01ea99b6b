// swift-tools-version: 6.1
import Foundation
import PackageDescription

// libFuzzer targets for everything that parses bytes sandnet did not write itself: the
// netlink codec, the typed rtnetlink and tc decoders, the journal and the guest description.
// A package of its own so the product's Package.swift stays free of fuzzing flags.
// scripts/fuzz.sh builds it with `swift build --sanitize fuzzer [--sanitize address]`.
//
// libFuzzer supplies main(); each target exports LLVMFuzzerTestOneInput and is parsed as a
// library so it has no Swift main of its own.
// A path dependency's identity is its directory's name (wt-x, a CI clone, main...), and
// products have to be named with it.
let sandnet = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent.lowercased()
func product(_ name: String) -> Target.Dependency { .product(name: name, package: sandnet) }

let fuzzer: [SwiftSetting] = [.unsafeFlags(["-parse-as-library"])]

let package = Package(
    name: "sandnet-fuzz",
    dependencies: [.package(path: "..")],
    targets: [
        // The oracle every target shares: only the decoder's own error type may come out.
        .target(name: "FuzzSupport", path: "Sources/FuzzSupport"),
        .executableTarget(
            name: "fuzz-codec", dependencies: ["FuzzSupport", product("NetlinkCodec"), product("SandnetCore")],
            path: "Sources/fuzz-codec", swiftSettings: fuzzer),
        .executableTarget(
            name: "fuzz-rtnetlink", dependencies: ["FuzzSupport", product("NetlinkCodec"), product("SandnetCore"), product("Rtnetlink")],
            path: "Sources/fuzz-rtnetlink", swiftSettings: fuzzer),
        .executableTarget(
            name: "fuzz-tc", dependencies: ["FuzzSupport", product("NetlinkCodec"), product("SandnetCore"), product("TrafficControl")],
            path: "Sources/fuzz-tc", swiftSettings: fuzzer),
        .executableTarget(
            name: "fuzz-journal", dependencies: ["FuzzSupport", product("SandboxNetwork")],
            path: "Sources/fuzz-journal", swiftSettings: fuzzer),
        .executableTarget(
            name: "fuzz-guest", dependencies: ["FuzzSupport", product("SandboxNetwork")],
            path: "Sources/fuzz-guest", swiftSettings: fuzzer),
        .executableTarget(
            name: "fuzz-channel", dependencies: ["FuzzSupport", product("Qmp"), product("SandboxNetwork")],
            path: "Sources/fuzz-channel", swiftSettings: fuzzer)
    ],
    swiftLanguageModes: [.v6]
)
