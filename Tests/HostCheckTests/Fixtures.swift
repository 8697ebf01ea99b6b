import Foundation
import HostCheck
import SandnetCore
import TestSupport
import Testing

/// Real kernel configurations: this machine's, and the Debian cloud kernels' pinned in
/// Tests/Fixtures/kernels (its README says where they came from). The pinned ones never
/// change under the tests: no test fetches a kernel.
enum RealKernels {
    static let repoRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// Tests/Fixtures/kernels: outside the test target's directory, so SwiftPM does not
    /// take the files for unhandled resources.
    static var fixtures: String { repoRoot + "/Tests/Fixtures/kernels" }

    /// A Debian cloud kernel: its configuration at ROOT/boot/config-RELEASE and its module
    /// tree's index files at ROOT/lib/modules/RELEASE (no .ko files: modules.dep lists them).
    struct Debian {
        let arch: String
        let release: String
        let root: String
        var configPath: String { "\(root)/boot/config-\(release)" }
        var machine: String { arch == "amd64" ? "x86_64" : "aarch64" }
        var config: KernelConfig { get throws { try KernelConfig.load(path: configPath) } }
    }

    /// The releases pinned in Tests/Fixtures/kernels/debian-6.1-ARCH.
    static let pinned = ["amd64": "6.1.0-57-cloud-amd64", "arm64": "6.1.0-57-cloud-arm64"]

    /// The pinned Debian cloud kernel for `arch`; throws when the fixture is not in the checkout.
    static func debian(_ arch: String) throws -> Debian {
        guard let release = pinned[arch] else { throw TestFailure("no pinned Debian kernel for \(arch)") }
        let d = Debian(arch: arch, release: release, root: "\(fixtures)/debian-6.1-\(arch)")
        for path in [d.configPath] + ["modules.dep", "modules.builtin", "modules.alias"].map({ "\(d.root)/lib/modules/\(release)/\($0)" })
        where !FileManager.default.fileExists(atPath: path) {
            throw TestFailure("the pinned kernel fixture \(path) is missing from the checkout (see \(fixtures)/README.md)")
        }
        return d
    }

    /// This machine's configuration, from wherever the running kernel keeps it.
    static let running: KernelConfig? = try? KernelConfig.loadRunning(release: HostCheck.uname().release)

    /// Writes a config to a temporary file and returns its path.
    static func write(_ config: KernelConfig) throws -> String {
        let path = NSTemporaryDirectory() + "sandnet-kconfig-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try config.text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}

extension KernelConfig {
    /// The option turned off the way menuconfig would have to: together with the options
    /// that select it (they would switch it back on) and those that depend on it.
    func removing(_ name: String, dependants: [String] = [], arch: Architecture? = nil) -> KernelConfig {
        var c = setting(name, to: .absent)
        for s in Kconfig.symbol(name, arch: arch)?.selectedBy ?? [] { c = c.setting(s, to: .absent) }
        for d in dependants { c = c.setting(d, to: .absent) }
        return c
    }
}

extension CheckReport {
    func requirement(_ id: String) -> RequirementResult? { requirements.first { $0.id == id } }
    func model(_ m: NetworkModel) -> ModelVerdict { models.first { $0.model == m }! }
}

/// Checks a Debian kernel's configuration (possibly modified) against its own module tree.
func checkDebian(_ d: RealKernels.Debian, config: KernelConfig? = nil, autoload: Bool = true) throws -> CheckReport {
    let path = try config.map(RealKernels.write) ?? d.configPath
    defer { if config != nil { try? FileManager.default.removeItem(atPath: path) } }
    var o = CheckOptions(
        kernelConfigPath: path, kataDefaultLookup: false, liveProbes: false,
        release: d.release, machine: d.machine, moduleRoot: d.root)
    o.autoloadOverride = autoload
    return HostCheck.run(o)
}
