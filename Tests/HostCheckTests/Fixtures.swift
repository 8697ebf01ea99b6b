import Foundation
import HostCheck
import SandnetCore
import TestSupport
import Testing

/// Real kernel configurations: this machine's, and the Debian cloud kernels' extracted
/// from their packages by scripts/fetch-kernel-configs.sh (run here when the cache is
/// empty; it is idempotent and locks against concurrent runs).
enum RealKernels {
    static let repoRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static var cache: String { (ProcessInfo.processInfo.environment["SANDNET_CACHE"] ?? "/var/cache/sandnet") + "/debian" }

    struct Debian {
        let arch: String
        let release: String
        let root: String
        var configPath: String { "\(root)/boot/config-\(release)" }
        var machine: String { arch == "amd64" ? "x86_64" : "aarch64" }
        var config: KernelConfig { get throws { try KernelConfig.load(path: configPath) } }
    }

    /// The extracted Debian cloud kernel for `arch`, fetching it once if needed.
    static func debian(_ arch: String) -> Debian? { arch == "amd64" ? amd64 : arm64 }
    private static let amd64 = fetch("amd64")
    private static let arm64 = fetch("arm64")

    private static func fetch(_ arch: String) -> Debian? {
        let dir = "\(cache)/\(arch)"
        func read() -> Debian? {
            guard let v = try? String(contentsOfFile: "\(dir)/kernel-version", encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines), !v.isEmpty,
                FileManager.default.fileExists(atPath: "\(dir)/linux-image-\(v)/boot/config-\(v)") else { return nil }
            return Debian(arch: arch, release: v, root: "\(dir)/linux-image-\(v)")
        }
        if let d = read() { return d }
        _ = try? TestEnvironment.run(["\(repoRoot)/scripts/fetch-kernel-configs.sh", arch])
        return read()
    }

    static func skipReason(_ arch: String) -> Comment {
        Comment(rawValue: "the Debian cloud \(arch) kernel could not be fetched into \(cache)/\(arch) (scripts/fetch-kernel-configs.sh \(arch) needs apt and root)")
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
    var o = CheckOptions(kernelConfigPath: path, kataDefaultLookup: false, liveProbes: false,
                         release: d.release, machine: d.machine, moduleRoot: d.root)
    o.autoloadOverride = autoload
    return HostCheck.run(o)
}
