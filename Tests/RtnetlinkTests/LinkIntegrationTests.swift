import Foundation
import KernelConformance
import NetlinkCodec
import NetlinkSocket
import Rtnetlink
import SandnetCore
import TestSupport
import Testing

/// Every link kind and every `ip link set` change sandnet offers, cross-checked with
/// `ip -j -d link` field by field, and the reverse: links made by `ip`, decoded by sandnet.
@Suite(.serialized) struct LinkIntegrationTests {
    static func withNamespace(_ body: (TestNamespace, Rtnetlink) throws -> Void) throws {
        try TestNamespace.with { ns in
            let rt = try Rtnetlink(namespace: ns.namespace)
            defer { rt.close() }
            try body(ns, rt)
        }
    }

    static func crossCheck(_ ns: TestNamespace, _ rt: Rtnetlink, sourceLocation: SourceLocation = #_sourceLocation) throws {
        LinkCrossCheck.expectSame(try rt.links(), try ns.ipJSON("-d", "link", "show"), sourceLocation: sourceLocation)
    }

    @Test(.enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"))
    func everyMacvlanAndMacvtapModeVethBridgeAndVxlan() throws {
        try Self.withNamespace { ns, rt in
            try rt.linkAdd(
                LinkSpec(
                    name: "pa", kind: .veth(peerName: "pb"), mtu: 1400, address: MACAddress("02:00:5e:00:53:aa"),
                    txQueueLength: 700, up: true))
            try rt.linkAdd(LinkSpec(name: "br0", kind: .bridge, mtu: 1450, up: true, group: 7))
            for (i, mode) in MacvlanMode.allCases.enumerated() {
                // passthru wants a parent of its own, so every mode gets one.
                try rt.linkAdd(LinkSpec(name: "lv\(i)", kind: .veth(peerName: "lw\(i)")))
                try rt.linkAdd(LinkSpec(name: "mv-\(mode.rawValue)", kind: .macvlan(parent: .name("lv\(i)"), mode: mode)))
                try rt.linkAdd(LinkSpec(name: "tv\(i)", kind: .veth(peerName: "tw\(i)")))
                try rt.linkAdd(LinkSpec(name: "mt-\(mode.rawValue)", kind: .macvtap(parent: .name("tv\(i)"), mode: mode)))
            }
            if LinkKindProbe.vxlan {
                try rt.linkAdd(LinkSpec(name: "vx4", kind: .vxlan(vni: 42, port: 4790, local: IPAddress("198.51.100.1"), learning: false)))
                try rt.linkAdd(LinkSpec(name: "vx6", kind: .vxlan(vni: 43, group: IPAddress("ff05::1"), parent: .name("pa"))))
            }
            let links = try rt.links()
            for mode in MacvlanMode.allCases {
                #expect(links.first { $0.name == "mv-\(mode.rawValue)" }?.kindData == .macvlan(mode: mode))
                #expect(links.first { $0.name == "mt-\(mode.rawValue)" }?.kindData == .macvtap(mode: mode))
            }
            let pa = try #require(links.first { $0.name == "pa" })
            #expect(pa.mtu == 1400 && pa.address?.description == "02:00:5e:00:53:aa" && pa.txQueueLength == 700 && pa.isUp)
            #expect(pa.parent == links.first { $0.name == "pb" }?.index)
            #expect(links.first { $0.name == "br0" }?.group == 7)
            if LinkKindProbe.vxlan {
                guard case .vxlan(let v)? = links.first(where: { $0.name == "vx4" })?.kindData else {
                    Issue.record("vx4 not vxlan")
                    return
                }
                #expect(v.vni == 42 && v.port == 4790 && v.learning == false && v.local == IPAddress("198.51.100.1"))
            }
            try Self.crossCheck(ns, rt)
        }
    }

    @Test(
        .enabled(
            if: TestEnvironment.isRoot && LinkKindProbe.ipvlan,
            "kernel lacks ipvlan (CONFIG_IPVLAN): adding a link of type ipvlan answers EOPNOTSUPP"))
    func everyIpvlanMode() throws {
        // The same check the kernel lab runs in the Debian cloud guest (Sources/KernelConformance).
        try LinkChecks.everyIpvlanMode()
    }

    @Test(
        .enabled(
            if: TestEnvironment.isRoot && LinkKindProbe.vlan,
            "kernel lacks 802.1Q vlan (CONFIG_VLAN_8021Q): adding a link of type vlan answers EOPNOTSUPP"))
    func vlanLinksAndTheKernelsReasonForABadID() throws {
        try LinkChecks.vlanLinksAndTheKernelsReasonForABadID()
    }

    @Test(
        .enabled(
            if: TestEnvironment.isRoot && LinkKindProbe.dummy,
            "kernel lacks the dummy driver (CONFIG_DUMMY): adding a link of type dummy answers EOPNOTSUPP"))
    func dummyLink() throws {
        try LinkChecks.dummyLink()
    }

    @Test(.enabled(if: KernelFeatureProbe.ifb, "kernel lacks ifb (CONFIG_IFB): ip link add type ifb answers not supported"))
    func ifbLinkAndARedirectToIt() throws {
        try LinkChecks.ifbDecodedAndRedirectedTo()
    }

    @Test(.enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"))
    func linkSetChangesEveryAttributeAndMovesBetweenNamespaces() throws {
        try Self.withNamespace { ns, rt in
            try rt.linkAdd(LinkSpec(name: "s0", kind: .veth(peerName: "s1")))
            try rt.linkAdd(LinkSpec(name: "br0", kind: .bridge))
            try rt.linkSet(.name("s0"), LinkChange(mtu: 1300, address: MACAddress("02:00:5e:00:53:01"), txQueueLength: 321, group: 9))
            try rt.linkSet(.name("s0"), LinkChange(name: "renamed0"))
            try rt.linkSet(.name("renamed0"), LinkChange(up: true, master: .name("br0")))
            var l = try rt.link(named: "renamed0")
            #expect(l.mtu == 1300 && l.address?.description == "02:00:5e:00:53:01" && l.txQueueLength == 321 && l.group == 9)
            let bridgeIndex = try rt.link(named: "br0").index
            #expect(l.isUp && l.master == bridgeIndex && l.slaveKind == "bridge")
            let j = try #require(try ns.ipJSON("-d", "link", "show", "renamed0").first)
            #expect(j["master"] as? String == "br0" && j["mtu"] as? Int == 1300 && j["txqlen"] as? Int == 321)
            try Self.crossCheck(ns, rt)

            try rt.linkSet(.name("renamed0"), LinkChange(up: false, master: .index(0)))
            l = try rt.link(named: "renamed0")
            #expect(!l.isUp && l.master == nil)
            try Self.crossCheck(ns, rt)

            // Move s1 into a second namespace: gone here, present there, and its peer now
            // points across namespaces (IFLA_LINK_NETNSID).
            try TestNamespace.with { other in
                try rt.linkSet(.name("s1"), LinkChange(namespace: other.namespace))
                #expect(try rt.links().allSatisfy { $0.name != "s1" })
                let there = try Rtnetlink(namespace: other.namespace)
                defer { there.close() }
                let s1 = try there.link(named: "s1")
                #expect(s1.kind == "veth" && s1.linkNetnsID != nil)
                LinkCrossCheck.expectSame(try there.links(), try other.ipJSON("-d", "link", "show"))
                #expect(try rt.link(named: "renamed0").linkNetnsID != nil)
                try Self.crossCheck(ns, rt)
            }
        }
    }

    @Test(.enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"))
    func linksMadeByIpAreDecoded() throws {
        try Self.withNamespace { ns, rt in
            var batch = """
                link add v0 mtu 1480 address 02:00:5e:00:53:10 type veth peer name v1
                link add br0 type bridge
                link set v1 master br0
                link set v0 up
                link set v1 up txqueuelen 42
                """
            for (i, mode) in MacvlanMode.allCases.enumerated() {
                batch += "\nlink add m\(i) type veth peer name n\(i)\nlink add mv\(i) link m\(i) type macvlan mode \(mode.rawValue)"
                batch += "\nlink add p\(i) type veth peer name q\(i)\nlink add mt\(i) link p\(i) type macvtap mode \(mode.rawValue)"
            }
            if LinkKindProbe.vxlan { batch += "\nlink add vx0 type vxlan id 77 local 198.51.100.3 dstport 4791 nolearning ttl 9" }
            if LinkKindProbe.vlan { batch += "\nlink add link v0 name v0.7 type vlan id 7 protocol 802.1ad" }
            if LinkKindProbe.ipvlan { batch += "\nlink add link m0 name iv0 type ipvlan mode l3s" }
            batch += "\ntuntap add mode tap name tap0 vnet_hdr multi_queue\ntuntap add mode tun name tun0\n"
            let r = try TestEnvironment.run(["ip", "-n", ns.name, "-batch", "-"], stdin: batch)
            #expect(r.status == 0, "ip -batch: \(r.stderr)")
            let links = try rt.links()
            #expect(links.first { $0.name == "v1" }?.master == links.first { $0.name == "br0" }?.index)
            for (i, mode) in MacvlanMode.allCases.enumerated() {
                #expect(links.first { $0.name == "mv\(i)" }?.kindData == .macvlan(mode: mode))
                #expect(links.first { $0.name == "mt\(i)" }?.kindData == .macvtap(mode: mode))
            }
            if case .tun(let t)? = links.first(where: { $0.name == "tap0" })?.kindData {
                #expect(t.mode == .tap && t.vnetHeader == true && t.multiQueue == true && t.persistent == true)
            } else {
                Issue.record("tap0 was not decoded as tun/tap")
            }
            if LinkKindProbe.vlan { #expect(links.first { $0.name == "v0.7" }?.kindData == .vlan(id: 7, protocolID: 0x88a8)) }
            try Self.crossCheck(ns, rt)
        }
    }

    @Test(.enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"))
    func fiveHundredLinksAreListedAndMatchIp() throws {
        try Self.withNamespace { ns, rt in
            let batch = (0..<250).map { "link add a\($0) type veth peer name b\($0)\n" }.joined()
            let r = try TestEnvironment.run(["ip", "-n", ns.name, "-batch", "-"], stdin: batch)
            #expect(r.status == 0, "ip -batch: \(r.stderr)")
            let links = try rt.links()
            #expect(links.count == 501)
            #expect(Set(links.map(\.name)).count == 501)
            LinkCrossCheck.expectSame(links, try ns.ipJSON("-d", "link", "show"))
            // Each peer points at its partner.
            let byName = Dictionary(links.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
            for i in 0..<250 { #expect(byName["a\(i)"]?.parent == byName["b\(i)"]?.index) }
        }
    }
}
