import Foundation

/// A known failure: how to recognise its message, its cause, its fix, and the probes
/// that tell whether it applies on this host.
public struct KnownFailure: Sendable {
    public let id: String
    /// Lower-cased fragments; the message matches when it contains all of one group.
    let patterns: [[String]]
    public let cause: String
    public let fix: String
    /// Probes whose failure means the cause is present here.
    public let probes: [ProbeID]
    /// Requirements whose check result says the same, when probes cannot run.
    public let requirements: [String]
}

/// What `sandnet explain` found for one message.
public struct Explanation: Sendable, Codable, Equatable {
    public enum Applies: String, Sendable, Codable {
        /// A probe or the configuration shows the cause on this host.
        case yes
        /// Everything it depends on works here: the message came from another host or time.
        case no
        /// Nothing here can tell (probes skipped, no configuration).
        case unknown
    }
    public var id: String
    public var cause: String
    public var fix: String
    public var appliesHere: Applies
    /// What the host check found, one line per requirement looked at.
    public var evidence: [String]
    /// Fixes from the host check for the failing requirements.
    public var hostFixes: [String]
}

public enum Explain {
    public static let catalog: [KnownFailure] = [
        KnownFailure(
            id: "netlink-protocol-not-supported",
            patterns: [["protocol not supported"], ["eprotonosupport"], ["address family not supported by protocol"]],
            cause: "The Go runtime's netlink library opens NETLINK_ROUTE, NETLINK_XFRM and NETLINK_NETFILTER sockets for every "
                + "handle it creates; on a kernel without CONFIG_XFRM_USER or CONFIG_NETFILTER_NETLINK (or with them as modules "
                + "that are not loaded and cannot load on demand) socket() answers EPROTONOSUPPORT and the sandbox fails before "
                + "any network is set up.",
            fix: "Load the modules (modprobe xfrm_user nfnetlink, and list them in /etc/modules-load.d/) or build the kernel with "
                + "CONFIG_XFRM_USER=y and CONFIG_NF_TABLES=y (which selects CONFIG_NETFILTER_NETLINK; that option has no prompt of "
                + "its own). sandnet itself needs NETLINK_ROUTE only.",
            probes: [.netlinkXfrm, .netlinkNetfilter], requirements: ["netlink-xfrm", "netlink-netfilter"]),
        KnownFailure(
            id: "endpoints-number",
            patterns: [["fail to get network endpoints number"], ["failed to get network endpoints number"]],
            cause: "Before sizing the VM's PCIe root ports, the runtime scans the pod's network namespace through a netlink "
                + "handle; the scan failed. Usually the handle itself could not be created (NETLINK_XFRM or NETLINK_NETFILTER "
                + "missing: \"protocol not supported\"), or the namespace path was wrong or already gone.",
            fix: "Read the error after the colon: for \"protocol not supported\" load xfrm_user and nfnetlink or enable "
                + "CONFIG_XFRM_USER and CONFIG_NF_TABLES; for \"no such file or directory\" check the CNI netns path.",
            probes: [.netlinkXfrm, .netlinkNetfilter, .networkNamespace], requirements: ["netlink-xfrm", "netlink-netfilter", "netns"]),
        KnownFailure(
            id: "unsupported-interface",
            patterns: [["unsupported network interface"]],
            cause: "The runtime found a link in the pod's namespace whose kind it does not handle (for example vxlan, vlan or "
                + "ipvlan in older releases) and refused the whole sandbox instead of skipping or describing it.",
            fix: "Use a CNI plugin that gives the pod veth or macvlan endpoints, or a runtime that supports the kind; "
                + "`sandnet scan --netns NS` lists every link with its kind and says which are unsupported and why.",
            probes: [], requirements: []),
        KnownFailure(
            id: "invalid-model",
            patterns: [["invalid internetworking model"], ["internetworking_model"]],
            cause: "[runtime] internetworking_model in the Kata configuration is not one the runtime accepts "
                + "(some releases also reject \"none\" there).",
            fix: "Set internetworking_model to \"tcfilter\" (default), \"macvtap\" or \"none\"; "
                + "`sandnet check --kata-config FILE` validates the file.",
            probes: [], requirements: []),
        KnownFailure(
            id: "qdisc-busy",
            patterns: [["qdisc", "device or resource busy"], ["qdisc", "ebusy"], ["exclusivity flag on, cannot modify"]],
            cause: "Adding the ingress qdisc failed with EBUSY: the device already has an ingress (or clsact) qdisc, typically "
                + "left behind by an earlier attach that was killed before its cleanup, or installed by another tool (a CNI "
                + "bandwidth plugin, Cilium).",
            fix: "Detach or garbage-collect the old sandbox (`sandnet gc`), or delete the stale qdisc "
                + "(`tc -n NETNS qdisc del dev DEV ingress`) after checking nothing else owns it.",
            probes: [.ingressQdisc], requirements: ["ingress-qdisc"]),
        KnownFailure(
            id: "qdisc-unknown",
            patterns: [
                ["specified qdisc kind is unknown"], ["failed to add ingress qdisc", "no such file or directory"],
                ["qdisc", "no such file or directory"]
            ],
            cause: "The kernel has no ingress qdisc: CONFIG_NET_SCH_INGRESS is off, or sch_ingress is a module that is not loaded.",
            fix: "modprobe sch_ingress, or build with CONFIG_NET_CLS_ACT=y and CONFIG_NET_SCH_INGRESS=y (it depends on NET_CLS_ACT).",
            probes: [.ingressQdisc], requirements: ["ingress-qdisc", "classifier-actions"]),
        KnownFailure(
            id: "filter-unknown",
            patterns: [
                ["tc classifier not found"], ["failed to add filter", "no such file or directory"],
                ["failed to load tc action module"], ["unknown action"]
            ],
            cause: "The kernel lacks the u32 classifier (CONFIG_NET_CLS_U32, module cls_u32) or the mirred action "
                + "(CONFIG_NET_ACT_MIRRED, module act_mirred) that tcfilter's redirect uses.",
            fix: "modprobe cls_u32 act_mirred, or build with CONFIG_NET_CLS_ACT=y, CONFIG_NET_CLS_U32=y, CONFIG_NET_ACT_MIRRED=y.",
            probes: [.u32Filter, .mirredAction], requirements: ["u32-filter", "mirred-action", "classifier-actions"]),
        KnownFailure(
            id: "unknown-link-kind",
            patterns: [["unknown device type"], ["not supported", "macvtap"], ["operation not supported", "link"]],
            cause: "The kernel does not know the link kind asked for (EOPNOTSUPP \"Unknown device type\"): typically macvtap "
                + "(CONFIG_MACVTAP, which needs CONFIG_MACVLAN) or veth.",
            fix: "modprobe macvtap (or veth), or build with CONFIG_MACVLAN=y and CONFIG_MACVTAP=y (which selects CONFIG_TAP).",
            probes: [.macvtap, .veth], requirements: ["macvtap", "macvlan", "veth"]),
        KnownFailure(
            id: "vhost-net-missing",
            patterns: [["/dev/vhost-net"], ["vhost-net"], ["vhost_net"], ["vhostfd"]],
            cause: "QEMU or the runtime could not open /dev/vhost-net: CONFIG_VHOST_NET is off, vhost_net is not loaded, or the "
                + "device node was not created.",
            fix: "modprobe vhost_net (its devname alias creates /dev/vhost-net), or build with CONFIG_VHOST_NET=m/y; "
                + "or set disable_vhost_net = true in the hypervisor section to run without it (slower).",
            probes: [.devVhostNet], requirements: ["vhost-net"]),
        KnownFailure(
            id: "tun-missing",
            patterns: [["/dev/net/tun"], ["tun", "no such device"], ["tuntap"]],
            cause: "Taps are created through /dev/net/tun: CONFIG_TUN is off, tun is not loaded, or the node is missing.",
            fix: "modprobe tun, or build with CONFIG_TUN=y; if the node is missing: mkdir -p /dev/net && mknod /dev/net/tun c 10 200.",
            probes: [.devTun, .tapMultiqueue], requirements: ["dev-net-tun", "tun"]),
        KnownFailure(
            id: "vsock-missing",
            patterns: [["vhost-vsock"], ["vhost_vsock"], ["vsock", "no such device"]],
            cause: "The runtime talks to its guest agent over vsock; /dev/vhost-vsock is missing (CONFIG_VHOST_VSOCK off or "
                + "vhost_vsock not loaded).",
            fix: "modprobe vhost_vsock, or build with CONFIG_VHOST_VSOCK=m/y.",
            probes: [.devVhostVsock], requirements: ["vhost-vsock"]),
        KnownFailure(
            id: "kvm-missing",
            patterns: [["/dev/kvm"], ["kvm", "no such file"], ["could not access kvm kernel module"]],
            cause: "QEMU cannot use hardware virtualization: /dev/kvm is missing (KVM off, the vendor module kvm_intel/kvm_amd "
                + "not loaded, virtualization disabled in firmware, or no nested virtualization in a VM).",
            fix: "modprobe kvm_intel (or kvm_amd); on arm64 KVM must be built in (CONFIG_KVM=y); enable VT-x/AMD-V or nested "
                + "virtualization.",
            probes: [.devKVM], requirements: ["kvm"])
    ]

    /// The known failures a message matches, most specific first.
    public static func match(_ message: String) -> [KnownFailure] {
        let m = message.lowercased()
        return catalog.filter { f in f.patterns.contains { group in group.allSatisfy(m.contains) } }
    }

    /// Explains a message, running the check (probes included) to say whether the cause
    /// is present on this host. `report` may be given to reuse one check for many messages.
    public static func explain(_ message: String, report: CheckReport) -> [Explanation] {
        let byID = Dictionary(uniqueKeysWithValues: report.requirements.map { ($0.id, $0) })
        return match(message).map { f in
            let looked = f.requirements.compactMap { byID[$0] }
            let evidence = looked.map { "\($0.title): \($0.status.rawValue): \($0.summary)" }
            let applies: Explanation.Applies
            if looked.isEmpty {
                applies = .unknown
            } else if looked.contains(where: { $0.status == .fail || $0.status == .warn }) {
                applies = .yes
            } else if looked.allSatisfy({ $0.status == .pass }) {
                applies = .no
            } else {
                applies = .unknown
            }
            let fixes = looked.compactMap { r -> String? in
                guard let fx = r.fix else { return nil }
                return ([r.title + ":"] + fx.commands + fx.kernelConfig + fx.notes.map { "note: \($0)" }).joined(separator: "\n    ")
            }
            return Explanation(id: f.id, cause: f.cause, fix: f.fix, appliesHere: applies, evidence: evidence, hostFixes: fixes)
        }
    }

    /// The probes worth running for a message.
    public static func probes(for message: String) -> Set<ProbeID> {
        Set(match(message).flatMap(\.probes))
    }
}
