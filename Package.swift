// swift-tools-version: 6.1
import PackageDescription

// Layers, bottom to top. Each target only sees the ones below it:
//   SandnetCore     addresses, prefixes, the network model, the architecture (shared values)
//   NetlinkCodec    pure bytes <-> values, no I/O
//   NetlinkSocket   sockets, namespaces, the namespace thread
//   Rtnetlink, TrafficControl, TapDevices   typed kernel operations
//   SandboxNetwork, QemuWiring, HostCheck   the sandbox domain, QEMU wiring, host check
//   Sandnet         the umbrella a user imports: re-exports the typed operations and the sandbox domain
//   SandnetCLI      argument parsing and printing only; `sandnet` is a one-line main over it
//   CNI, GuestLab, sandnet-lab   the test lab: never linked into `sandnet`
let package = Package(
    name: "sandnet",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "sandnet", targets: ["sandnet"]),
        .executable(name: "sandnet-lab", targets: ["sandnet-lab"]),
        .executable(name: "sandnet-cni", targets: ["sandnet-cni"]),
        .executable(name: "sandnet-conformance", targets: ["sandnet-conformance"]),
        // The library to depend on: `import Sandnet` (see Sources/Sandnet/Sandnet.swift).
        .library(name: "Sandnet", targets: ["Sandnet"]),
        .library(name: "SandnetCore", targets: ["SandnetCore"]),
        .library(name: "NetlinkCodec", targets: ["NetlinkCodec"]),
        .library(name: "NetlinkSocket", targets: ["NetlinkSocket"]),
        .library(name: "Rtnetlink", targets: ["Rtnetlink"]),
        .library(name: "QemuWiring", targets: ["QemuWiring"]),
        .library(name: "Qmp", targets: ["Qmp"]),
        .library(name: "SandboxNetwork", targets: ["SandboxNetwork"]),
        .library(name: "CNI", targets: ["CNI"]),
        .library(name: "TrafficControl", targets: ["TrafficControl"]),
        .library(name: "TapDevices", targets: ["TapDevices"]),
        .library(name: "HostCheck", targets: ["HostCheck"]),
        .library(name: "GuestLab", targets: ["GuestLab"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2")
    ],
    targets: [
        .target(name: "SandnetCore"),
        .target(name: "NetlinkCodec", dependencies: ["SandnetCore"]),
        .target(name: "CSandnetLinux"),
        .target(name: "NetlinkSocket", dependencies: ["NetlinkCodec", "CSandnetLinux"]),
        .target(name: "Rtnetlink", dependencies: ["SandnetCore", "NetlinkCodec", "NetlinkSocket"]),
        // QEMU arguments for a sandbox's NICs (pure) and the exec that hands QEMU its descriptors.
        .target(name: "QemuWiring", dependencies: ["SandnetCore", "CSandnetLinux"]),
        // QEMU's monitor protocol (QMP) over its Unix socket: codec, client, descriptor passing.
        .target(name: "Qmp", dependencies: ["SandnetCore", "NetlinkSocket", "CSandnetLinux"]),
        // Endpoint discovery, the tcfilter/macvtap/none models, journal, attach/detach, guest description.
        .target(
            name: "SandboxNetwork",
            dependencies: [
                "SandnetCore", "NetlinkCodec", "NetlinkSocket", "Rtnetlink", "QemuWiring", "TapDevices", "TrafficControl",
                "Qmp", .product(name: "Logging", package: "swift-log")
            ]),
        // Runs CNI plugins per the specification (end-to-end labs build pod namespaces with them).
        .target(name: "CNI", dependencies: ["ProcessRunner"]),
        .target(name: "TrafficControl", dependencies: ["SandnetCore", "NetlinkCodec", "NetlinkSocket", "Rtnetlink"]),
        .target(name: "TapDevices", dependencies: ["SandnetCore", "NetlinkCodec", "NetlinkSocket", "Rtnetlink", "CSandnetLinux"]),
        // zlib, to read /proc/config.gz in-process (works in a static binary and a bare guest).
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        // The umbrella module: `@_exported import`s of the typed operations and the sandbox domain.
        .target(
            name: "Sandnet",
            dependencies: [
                "SandnetCore", "NetlinkSocket", "Rtnetlink", "TrafficControl", "TapDevices", "SandboxNetwork", "QemuWiring"
            ]),
        // Short programs for a newcomer, importing only Sandnet; built by CI, run by ExamplesTests.
        .executableTarget(name: "list-links", dependencies: ["Sandnet"], path: "examples/list-links"),
        .executableTarget(name: "tap-redirect", dependencies: ["Sandnet"], path: "examples/tap-redirect"),
        .executableTarget(name: "attach-sandbox", dependencies: ["Sandnet"], path: "examples/attach-sandbox"),
        // Host check: kernel config, modules, live probes, runtime config, reports, explain.
        .target(
            name: "HostCheck",
            dependencies: [
                "SandnetCore", "NetlinkCodec", "NetlinkSocket", "Rtnetlink", "TrafficControl", "TapDevices", "CZlib", "CSandnetLinux",
                .product(name: "TOMLKit", package: "TOMLKit"),
                .product(name: "Logging", package: "swift-log")
            ]),
        // Test guests end to end: images, QEMU runs read from the serial console, CNI-built labs.
        .target(
            name: "GuestLab",
            dependencies: ["SandnetCore", "CNI", "QemuWiring", "SandboxNetwork", "NetlinkSocket", "CSandnetLinux", "ProcessRunner"]),
        // The operator's commands; thin executables below wrap them.
        .target(
            name: "SandnetCLI",
            dependencies: [
                "SandnetCore", "NetlinkCodec", "Rtnetlink", "NetlinkSocket", "SandboxNetwork", "QemuWiring", "HostCheck",
                "TrafficControl", "Qmp",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log")
            ]),
        // The product: what runs on a node. No lab, no fault switch.
        .executableTarget(name: "sandnet", dependencies: ["SandnetCLI"]),
        // sandnet as a chained CNI plugin (issue 16, docs/cni.md): runs on nodes, so no lab module.
        .target(
            name: "SandnetCNIPlugin",
            dependencies: ["SandnetCore", "NetlinkSocket", "Rtnetlink", "SandboxNetwork", "HostCheck"]),
        .executableTarget(name: "sandnet-cni", dependencies: ["SandnetCNIPlugin"]),
        // The test lab: the demo (the README's main job) and the fault-injection harness.
        .executableTarget(
            name: "sandnet-lab",
            dependencies: [
                "SandnetCLI", "SandboxNetwork", "QemuWiring", "GuestLab",
                .product(name: "ArgumentParser", package: "swift-argument-parser")
            ]),
        // The kernel lab (issue 13): the checks of kernel features the host may lack, shared by the
        // host tests and `sandnet-conformance`, which runs them in the Debian cloud guest. Lab only.
        .target(
            name: "KernelConformance",
            dependencies: [
                "SandnetCore", "NetlinkCodec", "NetlinkSocket", "Rtnetlink", "TrafficControl", "TapDevices", "SandboxNetwork",
                "QemuWiring", "ProcessRunner", "CSandnetLinux"
            ]),
        .executableTarget(name: "sandnet-conformance", dependencies: ["KernelConformance"]),
        // Benchmarks (issue 7): scripts/bench.sh builds it in release and runs it next to the C floor.
        .executableTarget(
            name: "sandnet-bench",
            dependencies: [
                "SandnetCore", "Rtnetlink", "NetlinkSocket", "NetlinkCodec", "SandboxNetwork", "TapDevices", "TrafficControl",
                "ProcessRunner"
            ],
            path: "benchmarks/Sources/sandnet-bench"),
        // One way to run a child that is not QEMU (lab, tests, benchmark); never linked into `sandnet`.
        .target(name: "CProcessRunner"),
        .target(name: "ProcessRunner", dependencies: ["CProcessRunner"]),
        .testTarget(name: "ProcessRunnerTests", dependencies: ["ProcessRunner"]),
        // Shared fixtures for tests only: throwaway namespaces and `ip -j`/`tc -j` cross-checks.
        .target(name: "TestSupport", dependencies: ["NetlinkSocket", "ProcessRunner"], path: "Tests/TestSupport"),
        .testTarget(name: "NetlinkCodecTests", dependencies: ["SandnetCore", "NetlinkCodec"]),
        .testTarget(
            name: "NetlinkSocketTests",
            dependencies: ["SandnetCore", "NetlinkSocket", "NetlinkCodec", "CSandnetLinux", "TestSupport", "ProcessRunner"]),
        .testTarget(name: "QemuWiringTests", dependencies: ["SandnetCore", "QemuWiring", "ProcessRunner"]),
        .testTarget(name: "GuestChannelTests", dependencies: ["SandnetCore", "SandboxNetwork", "Qmp", "QemuWiring"]),
        .testTarget(name: "QmpTests", dependencies: ["SandnetCore", "Qmp", "TapDevices", "NetlinkSocket", "TestSupport", "ProcessRunner"]),
        .testTarget(
            name: "SandboxNetworkTests",
            dependencies: [
                "SandnetCore", "SandboxNetwork", "QemuWiring", "Rtnetlink", "TapDevices", "NetlinkSocket", "NetlinkCodec", "TestSupport",
                "ProcessRunner", "SandnetCLI", "KernelConformance", "Qmp", .product(name: "Logging", package: "swift-log")
            ]),
        .testTarget(name: "CNITests", dependencies: ["CNI", "TestSupport"]),
        .testTarget(
            name: "SandnetCNITests",
            dependencies: [
                "SandnetCNIPlugin", "CNI", "GuestLab", "SandboxNetwork", "SandnetCore", "HostCheck", "NetlinkSocket", "TestSupport",
                "ProcessRunner"
            ]),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "SandnetCore", "GuestLab", "CNI", "SandboxNetwork", "QemuWiring", "NetlinkSocket", "NetlinkCodec", "TestSupport",
                "ProcessRunner", "Qmp", "TapDevices"
            ]),
        .testTarget(name: "HostCheckTests", dependencies: ["SandnetCore", "HostCheck", "NetlinkSocket", "TestSupport", "ProcessRunner"]),
        .testTarget(
            name: "RtnetlinkTests",
            dependencies: ["SandnetCore", "Rtnetlink", "NetlinkSocket", "NetlinkCodec", "TestSupport", "KernelConformance"]),
        // Boots the lab guest and reports each of its checks, then the feature x kernel matrix.
        .testTarget(name: "KernelLabTests", dependencies: ["KernelConformance", "TestSupport", "ProcessRunner"]),
        // Runs each built example against a throwaway namespace and checks it with `ip -j`/`tc -j`.
        // (`swift build --build-tests` builds the examples next to the bundle, as it builds `sandnet`.)
        .testTarget(name: "ExamplesTests", dependencies: ["TestSupport"]),
        .testTarget(
            name: "TrafficControlTests",
            dependencies: [
                "SandnetCore",
                "TrafficControl", "TapDevices", "Rtnetlink", "NetlinkSocket", "NetlinkCodec", "CSandnetLinux", "TestSupport",
                "KernelConformance"
            ])
    ],
    swiftLanguageModes: [.v6]
)
