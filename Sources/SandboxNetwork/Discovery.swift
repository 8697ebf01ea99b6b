import Foundation
import NetlinkCodec
import NetlinkSocket
import Rtnetlink
import SandnetCore

/// What a link in the pod's namespace is, as far as attaching it to a VM goes.
public enum LinkClass: String, Codable, Sendable, CaseIterable {
    case veth, macvlan, ipvlan, macvtap, tap, vlan, vxlan, bridge, physical, loopback, unsupported
}

/// One link of a scanned namespace, with everything an attach needs to know about it.
public struct ScannedLink: Codable, Equatable, Sendable {
    public var name: String
    public var index: Int32
    public var linkClass: LinkClass
    /// IFLA_INFO_KIND as the kernel says it (nil for physical devices and lo).
    public var kernelKind: String?
    public var mac: MACAddress?
    public var mtu: UInt32
    public var flags: [String]
    public var up: Bool
    public var group: UInt32
    /// Whether this link is a real endpoint the VM should get a NIC for.
    public var isEndpoint: Bool
    /// Why the link is not an endpoint, or why its kind is unsupported.
    public var reason: String?
    public var addresses: [SavedAddress]
    /// Routes of every table (main, local, policy tables) through this link, including
    /// the ones the kernel made. Rules (`ip rule`) name tables, not links: not listed.
    public var routes: [SavedRoute]
    /// Permanent neighbours, and the default gateway's entry.
    public var neighbours: [SavedNeighbour]
    /// IFLA_TXQLEN (nil when the kernel did not say): tcfilter gives back the 0 a qdisc add turns into 1000.
    public var txQueueLength: UInt32? = nil
    /// The lower device of a vlan, macvlan, macvtap or ipvlan, by name; "ifindex N in
    /// another namespace" when it is not in this one (as a CNI leaves a macvlan's parent).
    public var lower: String? = nil
    /// A vlan's 802.1Q id.
    public var vlanID: UInt16? = nil
}

/// A namespace as `sandnet scan` sees it.
public struct NamespaceScan: Codable, Equatable, Sendable {
    public var namespace: String
    public var links: [ScannedLink]
    public var endpoints: [ScannedLink] { links.filter(\.isEndpoint) }
    /// Sizes the VM's PCIe topology: real endpoints only (not lo, bridges or sandbox taps).
    public var endpointCount: Int { endpoints.count }
}

/// Link groups sandnet puts a sandbox's own links in: "SN" in the top half, so they are
/// recognisable and never the default group 0.
public enum SandboxLinkGroup {
    public static let base: UInt32 = 0x534e_0000
    public static let range: ClosedRange<UInt32> = (base + 1)...(base + 0xffff)
    public static func isSandnet(_ group: UInt32) -> Bool { range.contains(group) }
}

public enum Discovery {
    /// Scans `namespace` over one NETLINK_ROUTE socket. Links sandnet cannot attach are
    /// listed with a reason; they never fail the scan.
    public static func scan(_ namespace: NetworkNamespace) throws -> NamespaceScan {
        let rt = try Rtnetlink(namespace: namespace)
        defer { rt.close() }
        return try scan(rt, description: namespace.path)
    }

    public static func scan(_ rt: Rtnetlink, description: String) throws -> NamespaceScan {
        let links = try rt.links()
        let addresses = try rt.addresses()
        // Every table: removing a link's last IPv4 address flushes its routes in all of them.
        let routes = try rt.routes(table: nil)
        let neighbours = try rt.neighbours()
        let byIndex = Dictionary(links.map { ($0.index, $0) }, uniquingKeysWith: { a, _ in a })
        let scanned = links.sorted { $0.index < $1.index }.map { link -> ScannedLink in
            let (cls, unsupported) = classify(link)
            var reason = unsupported
            var endpoint = reason == nil && ![.loopback, .bridge].contains(cls)
            if cls == .loopback { reason = "loopback stays in the namespace" }
            if cls == .bridge { reason = "a bridge is not an endpoint; its ports are" }
            if endpoint, SandboxLinkGroup.isSandnet(link.group ?? 0) {
                endpoint = false
                reason = "created by sandnet for a sandbox (link group \(link.group!))"
            }
            if endpoint, let m = link.master {
                endpoint = false
                reason = "enslaved to \(byIndex[m]?.name ?? "ifindex \(m)")"
            }
            let myRoutes = routes.filter { $0.outputIndex == link.index }
            let gateways = Set(myRoutes.filter { $0.destination == nil || $0.destination?.length == 0 }.compactMap(\.gateway))
            let myNeighbours = neighbours.filter { n in
                guard n.index == link.index, let d = n.destination, n.linkAddress != nil else { return false }
                if n.isPermanent { return true }
                let usable = !n.state.isDisjoint(with: [.reachable, .stale, .delay, .probe])
                return usable && gateways.contains(d)
            }
            var scanned = ScannedLink(
                name: link.name, index: link.index, linkClass: cls, kernelKind: link.kind, mac: link.address,
                mtu: link.mtu ?? 0, flags: flagNames(link.flags), up: link.isUp, group: link.group ?? 0,
                isEndpoint: endpoint, reason: reason,
                addresses: addresses.filter { $0.index == link.index }.map(SavedAddress.init),
                routes: myRoutes.map(SavedRoute.init),
                neighbours: myNeighbours.map { SavedNeighbour(address: $0.destination!, mac: $0.linkAddress!, permanent: $0.isPermanent) },
                txQueueLength: link.txQueueLength)
            if [.vlan, .macvlan, .macvtap, .ipvlan].contains(cls), let p = link.parent, p != 0 {
                // IFLA_LINK is an index in the namespace IFLA_LINK_NETNSID names, when it is set.
                let here = link.linkNetnsID == nil ? byIndex[p] : nil
                scanned.lower = here?.name ?? "ifindex \(p) in another namespace"
            }
            if case .vlan(let id, _)? = link.kindData { scanned.vlanID = id }
            return scanned
        }
        return NamespaceScan(namespace: description, links: scanned)
    }

    /// The class of a link, and a reason when sandnet cannot attach it.
    public static func classify(_ link: Link) -> (LinkClass, String?) {
        if link.isLoopback { return (.loopback, nil) }
        guard let kind = link.kind else {
            // IFLA_PARENT_DEV_BUS_NAME names the bus (pci, virtio, ...) of a real NIC. sysfs
            // cannot stand in for it: /sys/class/net shows the namespace sysfs was mounted in.
            if link.parentBus != nil { return (.physical, nil) }
            return (.unsupported, "no link kind and no bus device behind it (IFLA_PARENT_DEV_BUS_NAME)")
        }
        switch kind {
        case "veth": return (.veth, nil)
        case "macvlan": return (.macvlan, nil)
        case "ipvlan": return (.ipvlan, nil)
        case "macvtap": return (.macvtap, nil)
        case "vlan": return (.vlan, nil)
        case "vxlan": return (.vxlan, nil)
        case "bridge": return (.bridge, nil)
        case "tun":
            if case .tun(let info)? = link.kindData, info.mode == .tun {
                return (.unsupported, "a layer-3 tun device carries no Ethernet frames")
            }
            return (.tap, nil)
        default:
            if link.parentBus != nil { return (.physical, nil) }
            return (
                .unsupported, "link kind \(kind) is not supported (supported: veth, macvlan, ipvlan, macvtap, tap, vlan, vxlan, physical)"
            )
        }
    }

    static func flagNames(_ f: UInt32) -> [String] {
        let names: [(UInt32, String)] = [
            (IFF.UP, "UP"), (IFF.BROADCAST, "BROADCAST"), (IFF.LOOPBACK, "LOOPBACK"),
            (IFF.POINTOPOINT, "POINTOPOINT"), (IFF.NOARP, "NOARP"), (IFF.PROMISC, "PROMISC"),
            (IFF.MULTICAST, "MULTICAST"), (IFF.LOWER_UP, "LOWER_UP")
        ]
        return names.filter { f & $0.0 != 0 }.map(\.1)
    }
}

extension SavedAddress {
    init(_ a: Address) {
        self.init(prefix: a.prefix, peer: a.peer, broadcast: a.broadcast, label: a.label, scope: a.scope, flags: a.flags)
    }
    /// IPv6 link-local addresses are the kernel's own; the guest makes its own from the MAC.
    public var isLinkLocal: Bool { !prefix.address.isIPv4 && prefix.address.bytes[0] == 0xfe && prefix.address.bytes[1] & 0xc0 == 0x80 }
}

extension SavedRoute {
    init(_ r: Route) {
        self.init(
            family: r.family, destination: r.destination, gateway: r.gateway, preferredSource: r.preferredSource,
            scope: r.scope, protocolID: r.protocolID, table: r.table, type: r.type, priority: r.priority,
            mtu: r.metrics.mtu, onLink: r.isOnLink)
    }
    /// Made by the kernel when an address was added or the link came up; it remakes them itself.
    public var isKernelMade: Bool { protocolID == .kernel }
}
