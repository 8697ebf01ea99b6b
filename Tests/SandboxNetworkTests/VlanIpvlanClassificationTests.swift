import Foundation
import KernelConformance
import NetlinkCodec
import Rtnetlink
import SandboxNetwork
import SandnetCore
import TestSupport
import Testing

/// vlan and ipvlan endpoints, classified from decoded RTM_NEWLINK messages (no kernel needed:
/// this host has neither 8021q nor ipvlan), and, where the kernel has them, wired and refused
/// the way issue 14 says. The kernel tests skip here and run in the kernel lab.
@Suite("vlan and ipvlan endpoints: classification from link messages")
struct VlanIpvlanClassificationTests {
    /// The link as the kernel would report it: the same ifinfomsg and IFLA_LINKINFO a create carries.
    static func decoded(_ spec: LinkSpec, parent: Int32?) throws -> Link {
        let request = Rtnetlink.linkAddRequest(spec, parentIndex: parent)
        return try Link.decode(try #require(try NetlinkMessage.decodeStream(request.encode(sequence: 1)).first))
    }

    @Test func vlanOnAVethIsAVlanEndpoint() throws {
        // A CNI's vlan on the pod's veth (the parent's ifindex, as IFLA_LINK names it).
        let link = try Self.decoded(LinkSpec(name: "eth0", kind: .vlan(parent: .index(7), id: 100)), parent: 7)
        #expect(link.kind == "vlan")
        if case .vlan(let id, _)? = link.kindData {
            #expect(id == 100)
        } else {
            Issue.record("no vlan data: \(String(describing: link.kindData))")
        }
        let (cls, reason) = Discovery.classify(link)
        #expect(cls == .vlan && reason == nil)
    }

    @Test(arguments: IpvlanMode.allCases)
    func ipvlanInEveryModeIsAnIpvlanEndpoint(_ mode: IpvlanMode) throws {
        let link = try Self.decoded(LinkSpec(name: "eth0", kind: .ipvlan(parent: .index(3), mode: mode)), parent: 3)
        if case .ipvlan(let m, _)? = link.kindData { #expect(m == mode) } else { Issue.record("no ipvlan data") }
        let (cls, reason) = Discovery.classify(link)
        #expect(cls == .ipvlan && reason == nil)
    }

    @Test func otherKindsKeepTheirClasses() throws {
        #expect(
            Discovery.classify(try Self.decoded(LinkSpec(name: "e", kind: .macvlan(parent: .index(3), mode: .bridge)), parent: 3)).0
                == .macvlan)
        #expect(Discovery.classify(try Self.decoded(LinkSpec(name: "e", kind: .veth(peerName: "p")), parent: nil)).0 == .veth)
        let (cls, reason) = Discovery.classify(try Self.decoded(LinkSpec(name: "e", kind: .dummy), parent: nil))
        #expect(cls == .unsupported && reason?.contains("dummy") == true)
    }
}

extension SandboxIntegration {
    /// Where the kernel has 802.1Q and ipvlan (the kernel lab): tcfilter and macvtap on a vlan
    /// on a veth, tcfilter on an ipvlan, macvtap on an ipvlan refused before any change, and a
    /// guest's frames through the queue descriptors reaching a peer. The same checks the kernel
    /// lab runs in the Debian cloud guest (Sources/KernelConformance, ConformanceCatalog).
    @Suite(.serialized) struct VlanIpvlanKernelTests {
        @Test(.enabled(if: KindProbe.has(.vlan), KindProbe.reason(.vlan)), arguments: [NetworkModel.tcfilter, .macvtap])
        func vlanOnVethAttachesAndDetachRestores(_ model: NetworkModel) throws {
            try SandboxChecks.attachAndDetach(.vlan, model: model, vhost: KernelFeatureProbe.vhostNet)
        }

        @Test(.enabled(if: KindProbe.has(.ipvlan), KindProbe.reason(.ipvlan)))
        func ipvlanAttachesWithTcfilterAndDetachRestores() throws {
            try SandboxChecks.attachAndDetach(.ipvlan, model: .tcfilter, vhost: KernelFeatureProbe.vhostNet)
        }

        @Test(.enabled(if: KindProbe.has(.ipvlan), KindProbe.reason(.ipvlan)))
        func macvtapOnIpvlanIsRefusedWithTheReason() throws { try SandboxChecks.macvtapOnIpvlanIsRefused() }

        @Test(.enabled(if: KindProbe.has(.vlan), KindProbe.reason(.vlan)), arguments: [NetworkModel.tcfilter, .macvtap])
        func aGuestOnAVlanReachesItsPeer(_ model: NetworkModel) throws { try PeerReachChecks.guestReachesPeer(.vlan, model: model) }

        @Test(.enabled(if: KindProbe.has(.ipvlan), KindProbe.reason(.ipvlan)))
        func aGuestOnAnIpvlanReachesItsPeer() throws { try PeerReachChecks.guestReachesPeer(.ipvlan, model: .tcfilter) }

        /// The same exchange on the kinds this host has: the check itself is tested here too.
        @Test(.enabled(if: KindProbe.has(.macvlan), KindProbe.reason(.macvlan)), arguments: [NetworkModel.tcfilter, .macvtap])
        func aGuestOnAVethOrMacvlanReachesItsPeer(_ model: NetworkModel) throws {
            try PeerReachChecks.guestReachesPeer(.veth, model: model)
            try PeerReachChecks.guestReachesPeer(.macvlan, model: model)
        }
    }
}
