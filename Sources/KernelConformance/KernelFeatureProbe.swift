import NetlinkCodec
import NetlinkSocket
import Rtnetlink
import TapDevices
import TrafficControl

#if canImport(Glibc)
    import Glibc
#endif

/// Whether this kernel has a feature, found by really using it in a throwaway namespace (no
/// module loading is asked for). Only "not supported" counts as absent; any other failure
/// says present, so that the check runs and fails visibly.
public enum KernelFeatureProbe {
    public static var isRoot: Bool { getuid() == 0 }

    /// Can a link of `kind` be added (next to a veth `probe0` it may take as its parent)?
    public static func link(_ kind: LinkKindSpec) -> Bool {
        guard isRoot else { return false }
        return
            (try? LabNamespace.with(prefix: "snprobe") { ns -> Bool in
                let rt = try Rtnetlink(namespace: ns.namespace)
                defer { rt.close() }
                try rt.linkAdd(LinkSpec(name: "probe0", kind: .veth(peerName: "probe1")))
                do {
                    try rt.linkAdd(LinkSpec(name: "probe2", kind: kind))
                    return true
                } catch let e as NetlinkError where e.errno == EOPNOTSUPP {
                    return false
                }
            }) ?? true
    }

    public static var dummy: Bool { link(.dummy) }
    public static var vlan: Bool { link(.vlan(parent: .name("probe0"), id: 10)) }
    public static var ipvlan: Bool { link(.ipvlan(parent: .name("probe0"), mode: .l2)) }
    public static var vxlan: Bool { link(.vxlan(vni: 1)) }
    /// ifb, which sandnet does not make itself: asked of `ip link add ... type ifb`.
    public static var ifb: Bool {
        guard isRoot else { return false }
        return
            (try? LabNamespace.with(prefix: "snprobe") { ns -> Bool in
                let r = try LabNamespace.run(["ip", "-n", ns.name, "link", "add", "probe2", "type", "ifb"])
                return r.status == 0 || !(r.stderr.contains("not supported") || r.stderr.contains("Unknown device type"))
            }) ?? true
    }
    public static var matchall: Bool { isRoot && TrafficControlProbe.supports(filter: "matchall") }
    public static var flower: Bool { isRoot && TrafficControlProbe.supports(filter: "flower") }
    public static var gact: Bool { isRoot && TrafficControlProbe.supports(action: "gact") }
    public static var clsact: Bool { isRoot && TrafficControlProbe.supports(qdisc: "clsact") }
    public static var htb: Bool { isRoot && TrafficControlProbe.supports(qdisc: "htb") }
    public static var vhostNet: Bool { isRoot && VhostNet.isAvailable }

    /// Does the kernel say "quantum of class … is small" through extended ACK, where tc
    /// prints it? (Linux 6.1 logs it with printk only; newer kernels answer with it.) Asked
    /// of tc, the oracle, so that sandnet's own handling is what the check then judges.
    public static var htbQuantumWarning: Bool {
        guard htb else { return false }
        return
            (try? LabNamespace.with(prefix: "snprobe") { ns -> Bool in
                let rt = try Rtnetlink(namespace: ns.namespace)
                defer { rt.close() }
                try rt.linkAdd(LinkSpec(name: "a", kind: .veth(peerName: "b")))
                try rt.qdiscAdd(QdiscSpec(device: .name("a"), kind: .htb(defaultClass: 0x10)))
                let r = try LabNamespace.run([
                    "tc", "-n", ns.name, "class", "add", "dev", "a", "parent", "1:", "classid", "1:10", "htb", "rate", "8kbit"
                ])
                return r.stderr.contains("is small")
            }) ?? true
    }
}
