import NetlinkCodec
import NetlinkSocket
import Rtnetlink
import SandnetCore
import TrafficControl

#if canImport(Glibc)
    import Glibc
#endif

/// Link kinds the host kernel may lack, each made by sandnet and cross-checked with
/// `ip -j -d link show` field by field (LinkIntegrationTests and the lab run these).
public enum LinkChecks {
    static func withNamespace(_ body: (LabNamespace, Rtnetlink) throws -> Void) throws {
        try LabNamespace.with(prefix: "snlink") { ns in
            let rt = try Rtnetlink(namespace: ns.namespace)
            defer { rt.close() }
            try body(ns, rt)
        }
    }

    /// An ipvlan in every mode (and one private l2), decoded and shown by ip alike. Mode and
    /// flags belong to the parent's ipvlan port, shared by every ipvlan on it: each gets a
    /// parent of its own (the lab's kernel showed iv-l2 turn private when iv-priv shared ip0).
    public static func everyIpvlanMode() throws {
        var d = Differences("every ipvlan mode")
        try withNamespace { ns, rt in
            for (i, mode) in IpvlanMode.allCases.enumerated() {
                try rt.linkAdd(LinkSpec(name: "ip\(i)", kind: .veth(peerName: "iq\(i)")))
                try rt.linkAdd(LinkSpec(name: "iv-\(mode.rawValue)", kind: .ipvlan(parent: .name("ip\(i)"), mode: mode)))
            }
            try rt.linkAdd(LinkSpec(name: "ipp", kind: .veth(peerName: "iqp")))
            try rt.linkAdd(LinkSpec(name: "iv-priv", kind: .ipvlan(parent: .name("ipp"), mode: .l2, flags: IPVLAN_F.PRIVATE)))
            let links = try rt.links()
            for mode in IpvlanMode.allCases {
                let got = links.first { $0.name == "iv-\(mode.rawValue)" }?.kindData
                d.expect(got == .ipvlan(mode: mode, flags: 0), "iv-\(mode.rawValue) decoded as \(String(describing: got))")
            }
            let priv = links.first { $0.name == "iv-priv" }?.kindData
            d.expect(priv == .ipvlan(mode: .l2, flags: IPVLAN_F.PRIVATE), "iv-priv decoded as \(String(describing: priv))")
            d.add(LinkComparison.differences(try rt.links(), try ns.ipJSON("-d", "link", "show")))
        }
        try d.finish()
    }

    /// An 802.1Q vlan, and the kernel's extended-ACK reason for an id out of range, with
    /// nothing changed by the refused request.
    public static func vlanLinksAndTheKernelsReasonForABadID() throws {
        var d = Differences("vlan links and the kernel's reason for a bad id")
        try withNamespace { ns, rt in
            try rt.linkAdd(LinkSpec(name: "trunk", kind: .veth(peerName: "trunk-peer")))
            try rt.linkAdd(LinkSpec(name: "trunk.100", kind: .vlan(parent: .name("trunk"), id: 100), mtu: 1400))
            let got = try rt.link(named: "trunk.100").kindData
            d.expect(got == .vlan(id: 100, protocolID: 0x8100), "trunk.100 decoded as \(String(describing: got))")
            d.add(LinkComparison.differences(try rt.links(), try ns.ipJSON("-d", "link", "show")))
            let before = try ns.ip("-j", "-d", "link", "show")
            do {
                try rt.linkAdd(LinkSpec(name: "trunk.5000", kind: .vlan(parent: .name("trunk"), id: 5000)))
                d.expect(false, "the kernel accepted vlan id 5000")
            } catch let e as NetlinkError {
                guard case .kernel(let refusal) = e else {
                    d.expect(false, "expected a kernel refusal, got \(e)")
                    return
                }
                d.expect(refusal.errno == ERANGE || refusal.errno == EINVAL, "vlan id 5000 refused with errno \(refusal.errno)")
                d.expect(refusal.kernelMessage?.isEmpty == false, "the kernel gave no extended-ACK text for a bad vlan id")
                d.expect(e.description.contains(refusal.kernelMessage ?? "<none>"), "the error does not carry the kernel's text: \(e)")
            }
            d.expect(try ns.ip("-j", "-d", "link", "show") == before, "the refused vlan changed the namespace's links")
        }
        try d.finish()
    }

    /// An ifb made by ip (sandnet makes none) decoded like ip shows it, and a u32 redirect
    /// of a veth's ingress to it made by sandnet, shown by tc alike: the redirect-to-ifb shape
    /// of ingress shaping.
    public static func ifbDecodedAndRedirectedTo() throws {
        var d = Differences("ifb link and a redirect to it")
        try withNamespace { ns, rt in
            try rt.linkAdd(LinkSpec(name: "a", kind: .veth(peerName: "b"), up: true))
            try ns.ip("link", "add", "ifb0", "type", "ifb")
            try ns.ip("link", "set", "ifb0", "up")
            let kind = try rt.link(named: "ifb0").kind
            d.expect(kind == "ifb", "ifb0 decoded as kind \(String(describing: kind))")
            d.add(LinkComparison.differences(try rt.links(), try ns.ipJSON("-d", "link", "show")))
            try rt.qdiscAdd(QdiscSpec(device: .name("a"), kind: .ingress))
            try rt.filterAdd(
                FilterSpec(
                    device: .name("a"), parent: .ingressQdisc, priority: 1,
                    kind: .u32(.matchAll, actions: [.mirred(MirredAction(.redirect, .egress, to: try rt.index(of: .name("ifb0"))))])))
            d.add(try TrafficControlComparison.filterDifferences(ns, rt, dev: "a", parent: .ingressQdisc, tcParent: "ffff:"))
            let toDev = try ns.tcJSON("filter", "show", "dev", "a", "parent", "ffff:").compactMap {
                (($0["options"] as? [String: Any])?["actions"] as? [[String: Any]])?.first?["to_dev"] as? String
            }
            d.expect(toDev.contains("ifb0"), "tc shows the redirect going to \(toDev)")
        }
        try d.finish()
    }

    /// A dummy link with an MTU of 9000, up.
    public static func dummyLink() throws {
        var d = Differences("dummy link")
        try withNamespace { ns, rt in
            try rt.linkAdd(LinkSpec(name: "dm0", kind: .dummy, mtu: 9000, up: true))
            let kind = try rt.link(named: "dm0").kind
            d.expect(kind == "dummy", "dm0 decoded as kind \(String(describing: kind))")
            d.add(LinkComparison.differences(try rt.links(), try ns.ipJSON("-d", "link", "show")))
        }
        try d.finish()
    }
}
