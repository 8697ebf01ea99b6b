import SandnetCore

/// The Kconfig facts that decide a fix: what an option depends on, what selects it, and
/// whether it can be a module at all. Taken from the Kconfig files of the Debian 6.1
/// kernel source (linux-source-6.1); the file is named with each symbol. Enclosing
/// `if`/`menuconfig` blocks count as dependencies, because menuconfig hides the option
/// until they are on.
public struct KconfigSymbol: Sendable, Equatable {
    public enum Kind: String, Sendable { case bool, tristate }

    public let name: String
    public let kind: Kind
    /// nil: the option has no prompt and cannot be switched on by itself in menuconfig;
    /// it follows `selectedBy`.
    public let prompt: String?
    /// Options that must be on first (y, or m for a tristate that may follow an =m one).
    public let dependsOn: [String]
    /// For a promptless option: the options that select it, the easiest first.
    public let selectedBy: [String]
    /// The module an `=m` build produces.
    public let module: String?
    /// The Kconfig file that defines it.
    public let file: String

    init(
        _ name: String, _ kind: Kind, prompt: String?, dependsOn: [String] = [], selectedBy: [String] = [],
        module: String? = nil, file: String
    ) {
        self.name = name
        self.kind = kind
        self.prompt = prompt
        self.dependsOn = dependsOn
        self.selectedBy = selectedBy
        self.module = module
        self.file = file
    }
}

public enum Kconfig {
    /// The symbols sandnet's requirements touch, and those on the way to them.
    public static func symbol(_ name: String, arch: Architecture?) -> KconfigSymbol? {
        let bare = KernelConfig.bare(name)
        if bare == "KVM", arch == .arm64 { return arm64KVM }
        return common[bare]
    }

    /// arm64 KVM is `bool` (arch/arm64/kvm/Kconfig): built in or nothing, never a module.
    static let arm64KVM = KconfigSymbol(
        "KVM", .bool, prompt: "Kernel-based Virtual Machine (KVM) support",
        dependsOn: ["VIRTUALIZATION"], file: "arch/arm64/kvm/Kconfig")

    static let common: [String: KconfigSymbol] = {
        let list: [KconfigSymbol] = [
            // init/Kconfig
            .init("NAMESPACES", .bool, prompt: "Namespaces support", file: "init/Kconfig"),
            .init("NET_NS", .bool, prompt: "Network namespace", dependsOn: ["NAMESPACES"], file: "init/Kconfig"),
            // drivers/net/Kconfig (inside `if NETDEVICES` / `if NET_CORE`)
            .init("NETDEVICES", .bool, prompt: "Network device support", file: "drivers/net/Kconfig"),
            .init("NET_CORE", .bool, prompt: "Network core driver support", dependsOn: ["NETDEVICES"], file: "drivers/net/Kconfig"),
            .init(
                "VETH", .tristate, prompt: "Virtual ethernet pair device", dependsOn: ["NET_CORE"], module: "veth",
                file: "drivers/net/Kconfig"),
            .init(
                "TUN", .tristate, prompt: "Universal TUN/TAP device driver support", dependsOn: ["NET_CORE"], module: "tun",
                file: "drivers/net/Kconfig"),
            .init(
                "MACVLAN", .tristate, prompt: "MAC-VLAN support", dependsOn: ["NET_CORE"], module: "macvlan", file: "drivers/net/Kconfig"),
            .init(
                "MACVTAP", .tristate, prompt: "MAC-VLAN based tap driver", dependsOn: ["NET_CORE", "MACVLAN"], module: "macvtap",
                file: "drivers/net/Kconfig"),
            // TAP has no prompt: MACVTAP (or IPVTAP) selects it.
            .init("TAP", .tristate, prompt: nil, selectedBy: ["MACVTAP", "IPVTAP"], module: "tap", file: "drivers/net/Kconfig"),
            .init("IPVLAN", .tristate, prompt: "IP-VLAN support", dependsOn: ["NET_CORE"], module: "ipvlan", file: "drivers/net/Kconfig"),
            .init(
                "IPVTAP", .tristate, prompt: "IP-VLAN based tap driver", dependsOn: ["NET_CORE", "IPVLAN"], module: "ipvtap",
                file: "drivers/net/Kconfig"),
            // net/sched/Kconfig (inside `if NET_SCHED`)
            .init("NET_SCHED", .bool, prompt: "QoS and/or fair queueing", file: "net/sched/Kconfig"),
            .init("NET_CLS_ACT", .bool, prompt: "Actions", dependsOn: ["NET_SCHED"], file: "net/sched/Kconfig"),
            .init(
                "NET_SCH_INGRESS", .tristate, prompt: "Ingress/classifier-action Qdisc", dependsOn: ["NET_SCHED", "NET_CLS_ACT"],
                module: "sch_ingress", file: "net/sched/Kconfig"),
            .init(
                "NET_CLS_U32", .tristate, prompt: "Universal 32bit comparisons w/ hashing (U32)", dependsOn: ["NET_SCHED"],
                module: "cls_u32", file: "net/sched/Kconfig"),
            .init(
                "NET_ACT_MIRRED", .tristate, prompt: "Redirecting and Mirroring", dependsOn: ["NET_SCHED", "NET_CLS_ACT"],
                module: "act_mirred", file: "net/sched/Kconfig"),
            // net/xfrm/Kconfig (inside `if INET`)
            .init(
                "XFRM_USER", .tristate, prompt: "Transformation user configuration interface", dependsOn: ["INET"], module: "xfrm_user",
                file: "net/xfrm/Kconfig"),
            .init("INET", .bool, prompt: "TCP/IP networking", file: "net/Kconfig"),
            // net/Kconfig, net/netfilter/Kconfig (inside `if NETFILTER`)
            .init("NETFILTER", .bool, prompt: "Network packet filtering framework (Netfilter)", file: "net/Kconfig"),
            .init("NETFILTER_ADVANCED", .bool, prompt: "Advanced netfilter configuration", dependsOn: ["NETFILTER"], file: "net/Kconfig"),
            // NETFILTER_NETLINK has no prompt. NF_TABLES first: it needs nothing but NETFILTER
            // and is what modern firewalls use anyway.
            .init(
                "NETFILTER_NETLINK", .tristate, prompt: nil,
                selectedBy: [
                    "NF_TABLES", "NETFILTER_NETLINK_QUEUE", "NETFILTER_NETLINK_LOG", "NF_CT_NETLINK", "IP_SET",
                    "NETFILTER_NETLINK_ACCT", "NETFILTER_NETLINK_OSF"
                ],
                module: "nfnetlink", file: "net/netfilter/Kconfig"),
            .init(
                "NF_TABLES", .tristate, prompt: "Netfilter nf_tables support", dependsOn: ["NETFILTER"], module: "nf_tables",
                file: "net/netfilter/Kconfig"),
            .init(
                "NETFILTER_NETLINK_QUEUE", .tristate, prompt: "Netfilter NFQUEUE over NFNETLINK interface",
                dependsOn: ["NETFILTER", "NETFILTER_ADVANCED"], module: "nfnetlink_queue", file: "net/netfilter/Kconfig"),
            .init(
                "NETFILTER_NETLINK_LOG", .tristate, prompt: "Netfilter LOG over NFNETLINK interface", dependsOn: ["NETFILTER"],
                module: "nfnetlink_log", file: "net/netfilter/Kconfig"),
            .init(
                "NF_CT_NETLINK", .tristate, prompt: "Connection tracking netlink interface", dependsOn: ["NETFILTER", "NF_CONNTRACK"],
                module: "nf_conntrack_netlink", file: "net/netfilter/Kconfig"),
            .init(
                "NF_CONNTRACK", .tristate, prompt: "Netfilter connection tracking support", dependsOn: ["NETFILTER"],
                module: "nf_conntrack", file: "net/netfilter/Kconfig"),
            .init(
                "IP_SET", .tristate, prompt: "IP set support", dependsOn: ["NETFILTER", "INET"], module: "ip_set",
                file: "net/netfilter/ipset/Kconfig"),
            .init(
                "NETFILTER_NETLINK_ACCT", .tristate, prompt: "Netfilter NFACCT over NFNETLINK interface",
                dependsOn: ["NETFILTER", "NETFILTER_ADVANCED"], module: "nfnetlink_acct", file: "net/netfilter/Kconfig"),
            .init(
                "NETFILTER_NETLINK_OSF", .tristate, prompt: "Netfilter OSF over NFNETLINK interface",
                dependsOn: ["NETFILTER", "NETFILTER_ADVANCED"], module: "nfnetlink_osf", file: "net/netfilter/Kconfig"),
            // drivers/vhost/Kconfig (inside `if VHOST_MENU`); VHOST has no prompt.
            .init("VHOST_MENU", .bool, prompt: "VHOST drivers", file: "drivers/vhost/Kconfig"),
            .init(
                "VHOST", .tristate, prompt: nil, selectedBy: ["VHOST_NET", "VHOST_VSOCK"], module: "vhost", file: "drivers/vhost/Kconfig"),
            .init(
                "VHOST_NET", .tristate, prompt: "Host kernel accelerator for virtio net", dependsOn: ["VHOST_MENU", "EVENTFD"],
                module: "vhost_net", file: "drivers/vhost/Kconfig"),
            .init(
                "VHOST_VSOCK", .tristate, prompt: "vhost virtio-vsock driver", dependsOn: ["VHOST_MENU", "VSOCKETS", "EVENTFD"],
                module: "vhost_vsock", file: "drivers/vhost/Kconfig"),
            .init("EVENTFD", .bool, prompt: "Enable eventfd() system call", file: "init/Kconfig"),
            .init("VSOCKETS", .tristate, prompt: "Virtual Socket protocol", module: "vsock", file: "net/vmw_vsock/Kconfig"),
            // arch/x86/kvm/Kconfig (inside `if VIRTUALIZATION`); arm64's KVM is above.
            .init("VIRTUALIZATION", .bool, prompt: "Virtualization", file: "arch/*/kvm/Kconfig"),
            .init(
                "KVM", .tristate, prompt: "Kernel-based Virtual Machine (KVM) support", dependsOn: ["VIRTUALIZATION"], module: "kvm",
                file: "arch/x86/kvm/Kconfig"),
            .init(
                "KVM_INTEL", .tristate, prompt: "KVM for Intel (and compatible) processors support", dependsOn: ["VIRTUALIZATION", "KVM"],
                module: "kvm_intel", file: "arch/x86/kvm/Kconfig"),
            .init(
                "KVM_AMD", .tristate, prompt: "KVM for AMD processors support", dependsOn: ["VIRTUALIZATION", "KVM"], module: "kvm_amd",
                file: "arch/x86/kvm/Kconfig")
        ]
        return Dictionary(uniqueKeysWithValues: list.map { ($0.name, $0) })
    }()
}

/// The `.config` lines (and notes) that switch an option on in a given kernel.
public struct KconfigFix: Sendable, Equatable, Codable {
    /// `CONFIG_X=y` / `CONFIG_X=m`, dependencies first.
    public var lines: [String]
    /// Why the lines are not just the option itself (no prompt, bool-only, no module support).
    public var notes: [String]
}

extension Kconfig {
    /// What to add to `config` so that `option` is on. `preferModule`: ask for `=m` where
    /// the option is a tristate and the kernel loads modules; otherwise `=y`.
    public static func fix(
        enabling option: String, in config: KernelConfig, arch: Architecture?,
        preferModule: Bool = true
    ) -> KconfigFix {
        var lines: [String] = []
        var notes: [String] = []
        var visited: Set<String> = []
        if preferModule && !config.modulesSupported {
            notes.append("this kernel has no module support (CONFIG_MODULES is off): everything must be built in (=y)")
        }
        enable(
            KernelConfig.bare(option), wantModule: preferModule && config.modulesSupported, config: config, arch: arch,
            lines: &lines, notes: &notes, visited: &visited)
        return KconfigFix(lines: lines, notes: notes)
    }

    private static func enable(
        _ name: String, wantModule: Bool, config: KernelConfig, arch: Architecture?,
        lines: inout [String], notes: inout [String], visited: inout Set<String>
    ) {
        guard visited.insert(name).inserted else { return }
        let current = config[name]
        // Already good enough: y always; m when a module is what we would ask for anyway.
        if current == .builtIn || (current == .module && wantModule) { return }
        guard let sym = symbol(name, arch: arch) else {
            lines.append("CONFIG_\(name)=\(wantModule ? "m" : "y")")
            return
        }
        if sym.prompt == nil, let selector = sym.selectedBy.first {
            notes.append(
                "CONFIG_\(name) has no prompt of its own: it is switched on by an option that selects it "
                    + "(\(sym.selectedBy.map { "CONFIG_\($0)" }.joined(separator: ", "))); this fix uses CONFIG_\(selector)")
            if config[selector].isEnabled {
                // The configuration contradicts Kconfig (edited by hand): restate the selector
                // and let olddefconfig recompute what it selects.
                lines.append("CONFIG_\(selector)=\(config[selector].rawValue)")
                notes.append("CONFIG_\(selector) is already on, so this .config was edited by hand: run `make olddefconfig`")
            } else {
                enable(selector, wantModule: wantModule, config: config, arch: arch, lines: &lines, notes: &notes, visited: &visited)
            }
            // A =m selector makes the selected option =m too, so the fix for "=y wanted"
            // holds only if the selector is =y: `enable` above already chose that.
            return
        }
        for dep in sym.dependsOn {
            // A tristate may sit at =m on an =m tristate; a bool dependency must be =y.
            let depIsTristate = symbol(dep, arch: arch)?.kind == .tristate
            enable(
                dep, wantModule: wantModule && depIsTristate, config: config, arch: arch, lines: &lines, notes: &notes, visited: &visited)
        }
        var value = "y"
        if wantModule && sym.kind == .tristate { value = "m" }
        if name == "KVM" && arch == .arm64 {
            notes.append("arm64 KVM is a bool option: it can only be built in (CONFIG_KVM=y), never a module")
        }
        lines.append("CONFIG_\(name)=\(value)")
    }
}
