import Foundation
import HostCheck
import SandnetCore
import TestSupport
import Testing

@Suite("Kernel configurations: the real ones, and copies with options removed or turned to modules")
struct KernelConfigTests {
    // MARK: this machine

    @Test(
        "this machine's configuration is read (gzip in-process) exactly as zcat/cat reads it",
        .enabled(if: RealKernels.running != nil, "this kernel exposes no configuration (/proc/config.gz, /boot/config-*)"))
    func runningConfigMatchesPlainText() throws {
        let config = try #require(RealKernels.running)
        let plain =
            config.source.hasSuffix(".gz")
            ? try TestEnvironment.sh(["zcat", config.source]) : try String(contentsOfFile: config.source, encoding: .utf8)
        #expect(config == KernelConfig(text: plain, source: config.source))
        #expect(config.values.count > 1000)
        #expect(config["NET_NS"] == .builtIn)
    }

    @Test(
        "this machine: every verdict follows its configuration; without module support every fix is =y",
        .enabled(if: RealKernels.running != nil, "this kernel exposes no configuration"))
    func runningVerdicts() throws {
        let config = try #require(RealKernels.running)
        let report = HostCheck.run(CheckOptions(kataDefaultLookup: false, liveProbes: false))
        #expect(report.host.kernelConfig == config.source)
        for r in report.requirements where !r.options.isEmpty {
            let allOn = r.options.allSatisfy { $0.value == .builtIn || ($0.value == .module && config.modulesSupported) }
            if r.id == "kvm" { continue } // either-of group, checked below
            #expect((r.status == .pass) == allOn, "\(r.id): \(r.summary)")
        }
        if !config.modulesSupported {
            for line in report.requirements.compactMap(\.fix).flatMap(\.kernelConfig) {
                #expect(line.hasSuffix("=y"), "\(line): a kernel without CONFIG_MODULES needs everything built in")
            }
        }
        #expect(
            report.model(.tcfilter).status
                == ([
                    "tun", "ingress-qdisc", "u32-filter", "mirred-action", "classifier-actions",
                    "netns", "veth", "netlink-xfrm", "netlink-netfilter", "vhost-vsock", "kvm"
                ]
                .allSatisfy { report.requirement($0)?.status == .pass } ? .pass : .fail))
    }

    @Test(
        "this machine's config with CONFIG_TUN turned into a module: fails when the kernel cannot load modules, fix is =y",
        .enabled(
            if: RealKernels.running.map { !$0.modulesSupported && $0["TUN"] == .builtIn } ?? false,
            "needs a kernel without module support and CONFIG_TUN=y, like this machine's"))
    func tunAsModuleWithoutModuleSupport() throws {
        let config = try #require(RealKernels.running).setting("TUN", to: .module)
        let path = try RealKernels.write(config)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let report = HostCheck.run(CheckOptions(kernelConfigPath: path, kataDefaultLookup: false, liveProbes: false))
        let tun = try #require(report.requirement("tun"))
        #expect(tun.status == .fail)
        #expect(tun.fix?.kernelConfig == ["CONFIG_TUN=y"])
        #expect(tun.fix?.notes.contains { $0.contains("CONFIG_MODULES") } == true)
        #expect(report.model(.tcfilter).status == .fail)
        #expect(report.model(.macvtap).failed.contains("tun") == false)
    }

    // MARK: Debian cloud amd64

    @Test("Debian cloud amd64 as shipped: every model passes, everything is a module on disk")
    func debianAmd64() throws {
        let d = try RealKernels.debian("amd64")
        let report = try checkDebian(d)
        for m in NetworkModel.allCases { #expect(report.model(m).status == .pass, "\(m): \(report.model(m).failed)") }
        let xfrm = try #require(report.requirement("netlink-xfrm"))
        #expect(xfrm.options.first?.value == .module)
        #expect(xfrm.options.first?.module == "xfrm_user")
        if case .onDisk(let path)? = xfrm.options.first?.moduleState {
            #expect(path.hasSuffix("xfrm_user.ko"))
        } else {
            Issue.record("xfrm_user should be on disk, found \(String(describing: xfrm.options.first?.moduleState))")
        }
        #expect(report.requirement("kvm")?.status == .pass)
        #expect(report.passed)
    }

    @Test("Debian amd64 without NETFILTER_NETLINK: the fix goes through NF_TABLES, which selects it")
    func debianAmd64WithoutNfnetlink() throws {
        let d = try RealKernels.debian("amd64")
        let report = try checkDebian(d, config: try d.config.removing("NETFILTER_NETLINK"))
        let r = try #require(report.requirement("netlink-netfilter"))
        #expect(r.status == .fail)
        #expect(r.components == [.kataRuntime])
        #expect(r.fix?.kernelConfig == ["CONFIG_NF_TABLES=m"])
        #expect(r.fix?.notes.contains { $0.contains("no prompt") } == true)
        #expect(!(r.fix?.kernelConfig.contains("CONFIG_NETFILTER_NETLINK=m") ?? true))
        #expect(report.model(.tcfilter).status == .fail)
        #expect(report.model(.macvtap).status == .fail)
        #expect(report.model(.none).status == .pass) // the runtime's extra families matter where it plumbs
    }

    @Test("Debian amd64 with nfnetlink and xfrm_user on disk but not autoloadable: fix is modprobe, not a rebuild")
    func debianAmd64NoAutoload() throws {
        let d = try RealKernels.debian("amd64")
        let report = try checkDebian(d, autoload: false)
        for (id, module) in [("netlink-xfrm", "xfrm_user"), ("netlink-netfilter", "nfnetlink")] {
            let r = try #require(report.requirement(id))
            #expect(r.status == .fail, "\(id)")
            #expect(r.fix?.commands.first == "modprobe \(module)")
            #expect(r.fix?.kernelConfig.isEmpty == true)
        }
        #expect(!report.passed)
    }

    @Test("Debian amd64 without NET_CLS_ACT: ingress and mirred need it first; macvtap is unaffected")
    func debianAmd64WithoutActions() throws {
        let d = try RealKernels.debian("amd64")
        let config = try d.config.removing("NET_CLS_ACT", dependants: ["NET_SCH_INGRESS", "NET_ACT_MIRRED"])
        let report = try checkDebian(d, config: config)
        #expect(report.requirement("ingress-qdisc")?.fix?.kernelConfig == ["CONFIG_NET_CLS_ACT=y", "CONFIG_NET_SCH_INGRESS=m"])
        #expect(report.requirement("mirred-action")?.fix?.kernelConfig == ["CONFIG_NET_CLS_ACT=y", "CONFIG_NET_ACT_MIRRED=m"])
        #expect(report.requirement("classifier-actions")?.fix?.kernelConfig == ["CONFIG_NET_CLS_ACT=y"])
        #expect(report.requirement("u32-filter")?.status == .pass)
        #expect(Set(report.model(.tcfilter).failed) == ["ingress-qdisc", "mirred-action", "classifier-actions"])
        #expect(report.model(.macvtap).status == .pass)
    }

    @Test("Debian amd64 without MACVLAN: macvtap needs MACVLAN first, and TAP comes with MACVTAP")
    func debianAmd64WithoutMacvlan() throws {
        let d = try RealKernels.debian("amd64")
        let config = try d.config.removing("MACVLAN", dependants: ["MACVTAP", "TAP", "IPVTAP"])
        let report = try checkDebian(d, config: config)
        #expect(report.requirement("macvtap")?.fix?.kernelConfig == ["CONFIG_MACVLAN=m", "CONFIG_MACVTAP=m"])
        #expect(report.requirement("macvlan")?.fix?.kernelConfig == ["CONFIG_MACVLAN=m"])
        #expect(report.model(.macvtap).status == .fail)
        #expect(report.model(.tcfilter).status == .pass)
    }

    @Test("Debian amd64 without vhost-net: a warning, not a failure; without the KVM vendor modules: a failure naming both")
    func debianAmd64VhostAndKVM() throws {
        let d = try RealKernels.debian("amd64")
        let config = try d.config.removing("VHOST_NET").removing("KVM_INTEL").removing("KVM_AMD")
        let report = try checkDebian(d, config: config)
        #expect(report.requirement("vhost-net")?.status == .warn)
        #expect(report.requirement("vhost-net")?.fix?.kernelConfig == ["CONFIG_VHOST_NET=m"])
        let kvm = try #require(report.requirement("kvm"))
        #expect(kvm.status == .fail)
        #expect(kvm.fix?.kernelConfig == ["CONFIG_KVM_INTEL=m"])
        #expect(kvm.fix?.notes.contains { $0.contains("CONFIG_KVM_AMD") } == true)
        #expect(report.model(.tcfilter).warnings == ["vhost-net"])
        #expect(report.model(.tcfilter).failed == ["kvm"])
    }

    @Test("Debian amd64 without htb and ifb: rate limits warn (ifb only for macvtap and none), no model fails")
    func debianAmd64WithoutRateLimitDevices() throws {
        let d = try RealKernels.debian("amd64")
        let report = try checkDebian(d, config: try d.config.removing("NET_SCH_HTB").removing("IFB"))
        #expect(report.requirement("htb-qdisc")?.status == .warn)
        #expect(report.requirement("htb-qdisc")?.fix?.kernelConfig == ["CONFIG_NET_SCH_HTB=m"])
        #expect(report.requirement("ifb")?.fix?.kernelConfig == ["CONFIG_IFB=m"])
        #expect(report.model(.tcfilter).warnings.contains("htb-qdisc"))
        #expect(!report.model(.tcfilter).warnings.contains("ifb"))
        #expect(report.model(.macvtap).warnings.contains("ifb"))
        #expect(report.model(.none).warnings.contains("ifb"))
        for m in NetworkModel.allCases {
            #expect(!report.model(m).failed.contains("htb-qdisc") && !report.model(m).failed.contains("ifb"), "\(m)")
        }
    }

    // MARK: Debian cloud arm64

    @Test("Debian cloud arm64 as shipped: every model passes; KVM is built in")
    func debianArm64() throws {
        let d = try RealKernels.debian("arm64")
        let report = try checkDebian(d)
        #expect(report.host.architecture == .arm64)
        for m in NetworkModel.allCases { #expect(report.model(m).status == .pass, "\(m): \(report.model(m).failed)") }
        #expect(report.requirement("kvm")?.options.first?.value == .builtIn)
    }

    @Test("Debian arm64 without KVM: the fix is =y even though the kernel loads modules (arm64 KVM is bool)")
    func debianArm64WithoutKVM() throws {
        let d = try RealKernels.debian("arm64")
        let report = try checkDebian(d, config: try d.config.removing("KVM", arch: .arm64))
        let kvm = try #require(report.requirement("kvm"))
        #expect(kvm.status == .fail)
        #expect(kvm.fix?.kernelConfig == ["CONFIG_KVM=y"])
        #expect(kvm.fix?.notes.contains { $0.contains("arm64 KVM is a bool") } == true)
    }

    @Test("Debian arm64 without XFRM_USER (the field failure): tcfilter and macvtap fail, the fix is one =m line")
    func debianArm64WithoutXfrm() throws {
        let d = try RealKernels.debian("arm64")
        let report = try checkDebian(d, config: try d.config.removing("XFRM_USER", dependants: ["XFRM_USER_COMPAT"]))
        #expect(report.requirement("netlink-xfrm")?.fix?.kernelConfig == ["CONFIG_XFRM_USER=m"])
        #expect(report.model(.tcfilter).failed == ["netlink-xfrm"])
        #expect(report.model(.macvtap).failed == ["netlink-xfrm"])
        #expect(!report.passed)
    }

    @Test(
        "an architecture sandnet does not assess: KVM is reported as not assessed",
        .enabled(if: RealKernels.running != nil, "this kernel exposes no configuration"))
    func otherArchitecture() throws {
        let config = try #require(RealKernels.running)
        let report = HostCheck.run(
            CheckOptions(
                kernelConfigPath: config.source, kataDefaultLookup: false, liveProbes: false,
                release: "test", machine: "riscv64", moduleRoot: "/nonexistent"))
        #expect(report.host.architecture == nil)
        #expect(report.requirement("kvm")?.status == .notAssessed)
        #expect(report.requirement("tun")?.status == (config["TUN"] == .builtIn ? .pass : .fail))
        #expect(report.text().contains("architecture not assessed"))
    }
}
