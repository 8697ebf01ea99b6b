import NetlinkSocket
import SandnetCore

/// Who needs a kernel feature. Saying who matters: sandnet itself needs NETLINK_ROUTE
/// only; the Go runtime's netlink library also opens XFRM and NETFILTER sockets for
/// every handle, and fails on kernels without them.
public enum Component: String, Sendable, Codable, CaseIterable {
    case sandnet
    /// Kata's Go runtime (containerd-shim-kata-v2) and its vishvananda/netlink handles.
    case kataRuntime = "kata-runtime"
    /// The CNI plugins that build the pod's namespace (bridge, ptp: veth pairs).
    case cniPlugins = "cni-plugins"
    case qemu
}

public enum Importance: String, Sendable, Codable {
    /// The sandbox cannot start without it.
    case required
    /// It starts, but slower (vhost-net).
    case recommended
}

/// A live probe: the operation tried for real, because only trying tells (tc and link
/// kinds travel over NETLINK_ROUTE, which always exists).
public enum ProbeID: String, Sendable, Codable, CaseIterable {
    case netlinkRoute = "netlink-route"
    case netlinkXfrm = "netlink-xfrm"
    case netlinkNetfilter = "netlink-netfilter"
    case networkNamespace = "netns"
    case veth
    case tapMultiqueue = "tap-multiqueue"
    case macvtap
    case ingressQdisc = "ingress-qdisc"
    case u32Filter = "u32-filter"
    case mirredAction = "mirred-action"
    case htbQdisc = "htb-qdisc"
    case ifb
    case devTun = "dev-net-tun"
    case devVhostNet = "dev-vhost-net"
    case devVhostVsock = "dev-vhost-vsock"
    case devKVM = "dev-kvm"
}

/// One thing a model needs from the host.
public struct Requirement: Sendable, Equatable {
    public let id: String
    public let title: String
    /// Why it is needed, in a sentence.
    public let why: String
    public let components: [Component]
    public let models: Set<NetworkModel>
    public let importance: Importance
    /// Kernel options: every group must hold; within a group any one option will do
    /// (KVM_INTEL or KVM_AMD).
    public let options: [[String]]
    public let probe: ProbeID?
    /// A device node that must exist (and the module whose alias creates it).
    public let deviceNode: String?
    /// Only on this architecture (nil: all).
    public let arch: Architecture?

    init(
        _ id: String, _ title: String, why: String, components: [Component], models: Set<NetworkModel> = Set(NetworkModel.allCases),
        importance: Importance = .required, options: [[String]], probe: ProbeID?, deviceNode: String? = nil, arch: Architecture? = nil
    ) {
        self.id = id
        self.title = title
        self.why = why
        self.components = components
        self.models = models
        self.importance = importance
        self.options = options
        self.probe = probe
        self.deviceNode = deviceNode
        self.arch = arch
    }
}

public enum Requirements {
    static let all = Set(NetworkModel.allCases)
    static let plumbed: Set<NetworkModel> = [.tcfilter, .macvtap]

    /// Every requirement for `arch` (nil: an architecture sandnet does not assess; its
    /// KVM requirement is then reported as not assessed).
    public static func catalog(arch: Architecture?) -> [Requirement] {
        var list: [Requirement] = [
            Requirement(
                "netns", "network namespaces",
                why: "each pod's network lives in its own namespace, created by the CRI runtime and the CNI plugins",
                components: [.cniPlugins, .kataRuntime, .sandnet], options: [["NET_NS"]], probe: .networkNamespace),
            Requirement(
                "netlink-route", "NETLINK_ROUTE sockets",
                why: "links, addresses, routes, qdiscs and filters are all configured over rtnetlink",
                components: [.sandnet, .kataRuntime, .cniPlugins], options: [], probe: .netlinkRoute),
            Requirement(
                "netlink-xfrm", "NETLINK_XFRM sockets",
                why: "the Go runtime's netlink library opens an XFRM socket for every handle and fails with "
                    + "\"protocol not supported\" without one (sandnet itself does not need it)",
                components: [.kataRuntime], models: plumbed, options: [["XFRM_USER"]], probe: .netlinkXfrm),
            Requirement(
                "netlink-netfilter", "NETLINK_NETFILTER sockets",
                why: "the Go runtime's netlink library opens a NETFILTER socket for every handle and fails with "
                    + "\"protocol not supported\" without one (sandnet itself does not need it)",
                components: [.kataRuntime], models: plumbed, options: [["NETFILTER_NETLINK"]], probe: .netlinkNetfilter),
            Requirement(
                "veth", "veth pairs",
                why: "the CNI bridge and ptp plugins connect the pod namespace with a veth pair",
                components: [.cniPlugins], options: [["VETH"]], probe: .veth),
            Requirement(
                "tun", "TUN/TAP devices (multiqueue)",
                why: "the tcfilter model (and none, which only creates a tap) gives QEMU one tap queue per vCPU",
                components: [.sandnet, .kataRuntime, .qemu], models: [.tcfilter, .none], options: [["TUN"]],
                probe: .tapMultiqueue, deviceNode: "/dev/net/tun"),
            Requirement(
                "dev-net-tun", "/dev/net/tun",
                why: "taps are created by opening /dev/net/tun",
                components: [.sandnet, .kataRuntime, .qemu], models: [.tcfilter, .none], options: [["TUN"]],
                probe: .devTun, deviceNode: "/dev/net/tun"),
            Requirement(
                "ingress-qdisc", "ingress qdisc",
                why: "tcfilter redirects traffic between the endpoint and the tap from each one's ingress qdisc",
                components: [.sandnet, .kataRuntime], models: [.tcfilter], options: [["NET_SCH_INGRESS"]], probe: .ingressQdisc),
            Requirement(
                "u32-filter", "u32 classifier",
                why: "tcfilter matches all traffic with a u32 filter on each ingress qdisc",
                components: [.sandnet, .kataRuntime], models: [.tcfilter], options: [["NET_CLS_U32"]], probe: .u32Filter),
            Requirement(
                "classifier-actions", "classifier actions",
                why: "the u32 filter carries an action; without CONFIG_NET_CLS_ACT filters cannot have actions "
                    + "and the ingress qdisc and mirred cannot even be enabled",
                components: [.sandnet, .kataRuntime], models: [.tcfilter], options: [["NET_CLS_ACT"]], probe: nil),
            Requirement(
                "mirred-action", "mirred redirect action",
                why: "tcfilter's filters redirect each packet to the other device with mirred",
                components: [.sandnet, .kataRuntime], models: [.tcfilter], options: [["NET_ACT_MIRRED"]], probe: .mirredAction),
            Requirement(
                "macvlan", "macvlan",
                why: "macvtap is a macvlan device with a tap attached; CONFIG_MACVTAP depends on CONFIG_MACVLAN",
                components: [.sandnet, .kataRuntime], models: [.macvtap], options: [["MACVLAN"]], probe: nil),
            Requirement(
                "macvtap", "macvtap",
                why: "the macvtap model puts a macvtap on each endpoint and hands QEMU its /dev/tapN queues",
                components: [.sandnet, .kataRuntime, .qemu], models: [.macvtap], options: [["MACVTAP"], ["TAP"]], probe: .macvtap),
            // Only a sandbox that asks for a rate limit needs these: recommended, so their
            // absence warns (and says which attaches would be refused) instead of failing a model.
            Requirement(
                "htb-qdisc", "htb qdisc (rate limits)",
                why: "a rate limit (--rx-rate/--tx-rate, Kata's rx_rate_limiter_max_rate/tx_rate_limiter_max_rate) is an htb "
                    + "qdisc with one class; without it an attach that asks for a limit is refused, others are not affected",
                components: [.sandnet, .kataRuntime], importance: .recommended, options: [["NET_SCH_HTB"]], probe: .htbQdisc),
            Requirement(
                "ifb", "ifb devices (rate limits)",
                why: "with macvtap and none a rate limit on what the guest sends is shaped on an ifb device of the sandbox's own; "
                    + "without it an attach that asks for such a limit is refused, others are not affected",
                components: [.sandnet, .kataRuntime], models: [.macvtap, .none], importance: .recommended, options: [["IFB"]],
                probe: .ifb),
            Requirement(
                "vhost-net", "vhost-net",
                why:
                    "moves virtio-net's data path into the host kernel; without it QEMU forwards every packet itself (slower, still works)",
                components: [.qemu], models: plumbed, importance: .recommended, options: [["VHOST_NET"]],
                probe: .devVhostNet, deviceNode: "/dev/vhost-net"),
            Requirement(
                "vhost-vsock", "vhost-vsock",
                why: "the runtime talks to the agent in the guest over virtio-vsock",
                components: [.kataRuntime, .qemu], options: [["VHOST_VSOCK"]], probe: .devVhostVsock, deviceNode: "/dev/vhost-vsock")
        ]
        switch arch {
        case .x86_64?:
            list.append(
                Requirement(
                    "kvm", "KVM (Intel or AMD)",
                    why: "QEMU runs the pod's VM with hardware virtualization; KVM needs its vendor module",
                    components: [.qemu], options: [["KVM"], ["KVM_INTEL", "KVM_AMD"]], probe: .devKVM,
                    deviceNode: "/dev/kvm", arch: .x86_64))
        case .arm64?:
            list.append(
                Requirement(
                    "kvm", "KVM",
                    why: "QEMU runs the pod's VM with hardware virtualization; on arm64 KVM can only be built in",
                    components: [.qemu], options: [["KVM"]], probe: .devKVM, deviceNode: "/dev/kvm", arch: .arm64))
        case nil:
            list.append(
                Requirement(
                    "kvm", "KVM",
                    why: "QEMU runs the pod's VM with hardware virtualization",
                    components: [.qemu], options: [["KVM"]], probe: .devKVM, deviceNode: "/dev/kvm"))
        }
        return list
    }

    /// The netlink family a probe opens, for probes that open one.
    public static func family(of probe: ProbeID) -> NetlinkProtocol? {
        switch probe {
        case .netlinkRoute: return .route
        case .netlinkXfrm: return .xfrm
        case .netlinkNetfilter: return .netfilter
        default: return nil
        }
    }
}
