import SandnetCore

/// One kernel-facing check: the feature it needs, how to tell whether this kernel has it,
/// and the check itself (the same function the host test calls).
public struct ConformanceCheck: Sendable {
    /// Unique, stable: the lab's result lines and the host's per-check tests use it.
    public var name: String
    /// The kernel feature, as the matrix lists it (several checks may share one).
    public var feature: String
    /// What the kernel lacks when `available` says no, with the option that provides it.
    public var lacking: String
    public var available: @Sendable () -> Bool
    public var run: @Sendable () throws -> Void
}

/// Every check that a kernel without the feature skips: the host test suites call the same
/// functions, the lab's `sandnet-conformance` runs them all in the Debian cloud guest.
public enum ConformanceCatalog {
    public static let all: [ConformanceCheck] = [
        ConformanceCheck(
            name: "link.dummy", feature: "dummy", lacking: "CONFIG_DUMMY", available: { KernelFeatureProbe.dummy },
            run: { try LinkChecks.dummyLink() }),
        ConformanceCheck(
            name: "link.vlan", feature: "802.1Q vlan", lacking: "CONFIG_VLAN_8021Q", available: { KernelFeatureProbe.vlan },
            run: { try LinkChecks.vlanLinksAndTheKernelsReasonForABadID() }),
        ConformanceCheck(
            name: "link.ipvlan", feature: "ipvlan", lacking: "CONFIG_IPVLAN", available: { KernelFeatureProbe.ipvlan },
            run: { try LinkChecks.everyIpvlanMode() }),
        ConformanceCheck(
            name: "link.ifb", feature: "ifb", lacking: "CONFIG_IFB", available: { KernelFeatureProbe.ifb },
            run: { try LinkChecks.ifbDecodedAndRedirectedTo() }),
        ConformanceCheck(
            name: "tc.clsact", feature: "clsact", lacking: "CONFIG_NET_SCH_INGRESS (clsact)", available: { KernelFeatureProbe.clsact },
            run: { try TrafficControlChecks.objectsMadeByTcAreDecodedLikeTcShowsThem() }),
        ConformanceCheck(
            name: "tc.htb", feature: "htb", lacking: "CONFIG_NET_SCH_HTB", available: { KernelFeatureProbe.htb },
            run: { try TrafficControlChecks.htbQdiscAndClassesMatchTcBothWays() }),
        ConformanceCheck(
            name: "tc.htb-warning", feature: "htb quantum warning (extended ACK)",
            lacking: "CONFIG_NET_SCH_HTB, or the quantum warning as extended ACK (6.1 only logs it)",
            available: { KernelFeatureProbe.htbQuantumWarning },
            run: { try TrafficControlChecks.aWarningOnASuccessfulRequestReachesTheHandler() }),
        ConformanceCheck(
            name: "tc.matchall", feature: "cls_matchall", lacking: "CONFIG_NET_CLS_MATCHALL", available: { KernelFeatureProbe.matchall },
            run: { try TrafficControlChecks.matchallFilterMatchesTc() }),
        ConformanceCheck(
            name: "tc.flower", feature: "cls_flower", lacking: "CONFIG_NET_CLS_FLOWER", available: { KernelFeatureProbe.flower },
            run: { try TrafficControlChecks.flowerFilterMatchesTc() }),
        ConformanceCheck(
            name: "tc.gact", feature: "act_gact", lacking: "CONFIG_NET_ACT_GACT", available: { KernelFeatureProbe.gact },
            run: { try TrafficControlChecks.gactResultsMatchTc() }),
        ConformanceCheck(
            name: "vhost.claim", feature: "vhost-net", lacking: "CONFIG_VHOST_NET", available: { KernelFeatureProbe.vhostNet },
            run: { try SandboxChecks.vhostNetCanBeClaimed() }),
        ConformanceCheck(
            name: "vhost.tcfilter", feature: "vhost-net", lacking: "CONFIG_VHOST_NET", available: { KernelFeatureProbe.vhostNet },
            run: { try SandboxChecks.attachAndDetach(.veth, model: .tcfilter, vhost: true) }),
        ConformanceCheck(
            name: "vhost.macvtap", feature: "vhost-net", lacking: "CONFIG_VHOST_NET", available: { KernelFeatureProbe.vhostNet },
            run: { try SandboxChecks.attachAndDetach(.veth, model: .macvtap, vhost: true) }),
        ConformanceCheck(
            name: "sandbox.ipvlan-discovery", feature: "ipvlan", lacking: "CONFIG_IPVLAN", available: { KernelFeatureProbe.ipvlan },
            run: { try SandboxChecks.classifies(.ipvlan) }),
        ConformanceCheck(
            name: "sandbox.ipvlan-tcfilter", feature: "ipvlan", lacking: "CONFIG_IPVLAN", available: { KernelFeatureProbe.ipvlan },
            run: { try SandboxChecks.attachAndDetach(.ipvlan, model: .tcfilter, vhost: KernelFeatureProbe.vhostNet) }),
        ConformanceCheck(
            name: "sandbox.vlan-discovery", feature: "802.1Q vlan", lacking: "CONFIG_VLAN_8021Q", available: { KernelFeatureProbe.vlan },
            run: { try SandboxChecks.classifies(.vlan) }),
        ConformanceCheck(
            name: "sandbox.vlan-tcfilter", feature: "802.1Q vlan", lacking: "CONFIG_VLAN_8021Q", available: { KernelFeatureProbe.vlan },
            run: { try SandboxChecks.attachAndDetach(.vlan, model: .tcfilter, vhost: KernelFeatureProbe.vhostNet) }),
        ConformanceCheck(
            name: "sandbox.vlan-macvtap", feature: "802.1Q vlan", lacking: "CONFIG_VLAN_8021Q", available: { KernelFeatureProbe.vlan },
            run: { try SandboxChecks.attachAndDetach(.vlan, model: .macvtap, vhost: KernelFeatureProbe.vhostNet) }),
        ConformanceCheck(
            name: "sandbox.ipvlan-macvtap-refused", feature: "ipvlan", lacking: "CONFIG_IPVLAN", available: { KernelFeatureProbe.ipvlan },
            run: { try SandboxChecks.macvtapOnIpvlanIsRefused() }),
        // A guest's frames through the attach's queue descriptors reach a peer (issue 14's
        // LowerDeviceEndToEndTests boot QEMU for this; the lab guest has none).
        ConformanceCheck(
            name: "vlan.tcfilter.peer-reach", feature: "802.1Q vlan", lacking: "CONFIG_VLAN_8021Q", available: { KernelFeatureProbe.vlan },
            run: { try PeerReachChecks.guestReachesPeer(.vlan, model: .tcfilter) }),
        ConformanceCheck(
            name: "vlan.macvtap.peer-reach", feature: "802.1Q vlan", lacking: "CONFIG_VLAN_8021Q", available: { KernelFeatureProbe.vlan },
            run: { try PeerReachChecks.guestReachesPeer(.vlan, model: .macvtap) }),
        ConformanceCheck(
            name: "ipvlan.tcfilter.peer-reach", feature: "ipvlan", lacking: "CONFIG_IPVLAN", available: { KernelFeatureProbe.ipvlan },
            run: { try PeerReachChecks.guestReachesPeer(.ipvlan, model: .tcfilter) })
    ]

    public static func named(_ name: String) -> ConformanceCheck? { all.first { $0.name == name } }
    public static var names: [String] { all.map(\.name) }
}
