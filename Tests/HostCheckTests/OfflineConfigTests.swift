import Foundation
import HostCheck
import SandnetCore
import TestSupport
import Testing

/// `--kernel-config` without a module tree: the configuration judged as what it is, for its
/// own architecture and version, never for this machine's.
func checkOffline(_ config: KernelConfig, arch: Architecture? = nil) throws -> CheckReport {
    let path = try RealKernels.write(config)
    defer { try? FileManager.default.removeItem(atPath: path) }
    var o = CheckOptions(kernelConfigPath: path, kataDefaultLookup: false)
    o.arch = arch
    return HostCheck.run(o)
}

/// The pinned configuration as its own file (the header kept: `text` drops comments).
func checkOffline(_ d: RealKernels.Debian, arch: Architecture? = nil) -> CheckReport {
    var o = CheckOptions(kernelConfigPath: d.configPath, kataDefaultLookup: false)
    o.arch = arch
    return HostCheck.run(o)
}

@Suite("Offline kernel configurations: judged for their own architecture and version")
struct OfflineConfigTests {
    static let running = HostCheck.uname()

    @Test("the Debian arm64 configuration on this x86_64 host: arm64 requirements only, its own version, virt")
    func debianArm64() throws {
        let d = try RealKernels.debian("arm64")
        let report = checkOffline(d)
        #expect(report.host.foreignKernel)
        #expect(report.host.architecture == .arm64)
        #expect(report.host.architectureSource == "CONFIG_ARM64=y")
        #expect(report.host.kernelRelease == "6.1.192")
        #expect(report.host.machine == "aarch64")
        #expect(report.host.qemuMachine?.hasPrefix("virt") == true)
        let kvm = try #require(report.requirement("kvm"))
        #expect(kvm.options.map(\.option) == ["CONFIG_KVM"], "arm64 KVM: \(kvm.options.map(\.option))")
        #expect(kvm.status == .pass, "\(kvm.summary)")
        let text = report.text()
        #expect(!text.contains("KVM_INTEL") && !text.contains("KVM_AMD") && !text.contains("q35"), "\(text)")
        #expect(
            text.hasPrefix("Kernel configuration \(d.configPath): Linux 6.1.192 for arm64 (from CONFIG_ARM64=y)"), "\(text.prefix(300))")
        if Self.running.release != "6.1.192" { #expect(!text.contains(Self.running.release), "the running kernel's version in \(text)") }
        for m in NetworkModel.allCases { #expect(report.model(m).status == .pass, "\(m): \(report.model(m).failed)") }
        #expect(report.kvm == nil, "no KVM probe for a configuration")
    }

    @Test("the Debian amd64 configuration: x86_64, KVM_INTEL/KVM_AMD, q35, its own version")
    func debianAmd64() throws {
        let d = try RealKernels.debian("amd64")
        let report = checkOffline(d)
        #expect(report.host.architecture == .x86_64)
        #expect(report.host.architectureSource == "CONFIG_X86_64=y")
        #expect(report.host.kernelRelease == "6.1.192")
        #expect(report.host.qemuMachine?.hasPrefix("q35") == true)
        let kvm = try #require(report.requirement("kvm"))
        #expect(Set(kvm.options.map(\.option)) == ["CONFIG_KVM", "CONFIG_KVM_INTEL", "CONFIG_KVM_AMD"])
        #expect(kvm.status == .pass)
        for m in NetworkModel.allCases { #expect(report.model(m).status == .pass, "\(m): \(report.model(m).failed)") }
        #expect(report.text().contains("for x86_64 (from CONFIG_X86_64=y)"))
    }

    @Test("arm64 copies with options removed: each named with an arm64 fix (KVM built in), nothing x86 asked for")
    func arm64Removed() throws {
        let d = try RealKernels.debian("arm64")
        let config = try d.config
        let noKVM = try checkOffline(config.removing("KVM", arch: .arm64))
        #expect(noKVM.host.architecture == .arm64)
        let kvm = try #require(noKVM.requirement("kvm"))
        #expect(kvm.status == .fail)
        #expect(kvm.fix?.kernelConfig == ["CONFIG_KVM=y"], "\(kvm.fix?.kernelConfig ?? [])")
        #expect(kvm.fix?.notes.contains { $0.contains("bool") } == true)
        #expect(!noKVM.text().contains("KVM_INTEL"))

        let noXfrm = try checkOffline(config.removing("XFRM_USER"))
        #expect(noXfrm.requirement("netlink-xfrm")?.status == .fail)
        #expect(noXfrm.requirement("netlink-xfrm")?.fix?.kernelConfig == ["CONFIG_XFRM_USER=m"])
        #expect(noXfrm.model(.tcfilter).failed == ["netlink-xfrm"])
        #expect(noXfrm.model(.none).status == .pass)
        #expect(noXfrm.exitCode == 1)
    }

    @Test("amd64 copy without KVM_INTEL and KVM_AMD: kvm fails with the x86 vendor options")
    func amd64Removed() throws {
        let d = try RealKernels.debian("amd64")
        let report = try checkOffline(d.config.removing("KVM_INTEL").removing("KVM_AMD"))
        #expect(report.host.architecture == .x86_64)
        let kvm = try #require(report.requirement("kvm"))
        #expect(kvm.status == .fail)
        #expect(kvm.fix?.kernelConfig.contains("CONFIG_KVM_INTEL=m") == true, "\(kvm.fix?.kernelConfig ?? [])")
    }

    @Test("--arch overrides what the configuration says")
    func archOverride() throws {
        let d = try RealKernels.debian("amd64")
        let report = checkOffline(d, arch: .arm64)
        #expect(report.host.architecture == .arm64)
        #expect(report.host.architectureSource == "--arch")
        #expect(report.requirement("kvm")?.options.map(\.option) == ["CONFIG_KVM"])
    }

    @Test("the header alone tells the architecture; a configuration that says nothing is not assessed and not ready")
    func headerAndNothing() throws {
        let arm = KernelConfig(text: "# Linux/arm64 6.1.0 Kernel Configuration\nCONFIG_NET_NS=y\n", source: "t")
        #expect(arm.architecture?.0 == .arm64)
        #expect(arm.headerVersion == "6.1.0")
        let path = NSTemporaryDirectory() + "sandnet-kconfig-noarch-\(getpid())"
        try "CONFIG_NET_NS=y\nCONFIG_TUN=y\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let report = HostCheck.run(CheckOptions(kernelConfigPath: path, kataDefaultLookup: false))
        #expect(report.host.architecture == nil)
        #expect(report.host.kernelRelease == "unknown")
        #expect(report.requirement("kvm")?.status == .notAssessed)
        #expect(report.model(.none).unknown.contains("kvm"))
        #expect(!report.passed && report.exitCode == 1)
    }

    @Test("not a kernel configuration, or unreadable: an error with the reason, never a verdict")
    func notAConfiguration() throws {
        let dir = NSTemporaryDirectory() + "sandnet-kconfig-bad-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "[runtime]\ninternetworking_model = \"tcfilter\"\n".write(toFile: dir + "/kata.toml", atomically: true, encoding: .utf8)
        try Data([0x7f, 0x45, 0x4c, 0x46, 0, 0, 0]).write(to: URL(fileURLWithPath: dir + "/binary"))
        for (file, reason) in [("kata.toml", "no CONFIG_NAME=value"), ("binary", "binary data"), ("", "directory")] {
            #expect {
                _ = try KernelConfig.load(path: dir + "/" + file)
            } throws: { error in
                "\(error)".contains(reason)
            }
        }
        #expect(throws: KernelConfigError.self) { _ = try KernelConfig.load(path: dir + "/missing") }
    }
}
