import Foundation
import NetlinkCodec
import NetlinkSocket
import Rtnetlink
import SandnetCore

#if canImport(Glibc)
    import Glibc
#endif

/// One kernel change an attach is about to make, recorded before it is made, with what
/// it takes to undo it. Every undo tolerates the change never having happened: the
/// process may die between writing the intent and making the change.
public enum JournalStep: Codable, Equatable, Sendable {
    // The fields after the first ones say which object sandnet made, so its undo can tell
    // it from another tool's (see `OwnedObjects`). They are optional: journals written
    // before them still decode, and are undone the way they were then.

    /// A link created in the sandbox's link group. All of them go with one group delete.
    /// `kind` (`tun`, `macvtap`) is recorded with the intent; `ifindex` once it exists.
    case createLink(name: String, kind: String? = nil, ifindex: Int32? = nil)
    /// An ingress qdisc added to an endpoint that outlives the sandbox. `added` is recorded
    /// once the kernel accepted the add: without it the qdisc there may be another tool's.
    case addIngressQdisc(link: String, ifindex: Int32? = nil, added: Bool? = nil)
    /// A redirect filter (u32 at `priority`, `handle` learnt after the add) from one link to the other.
    case addRedirect(
        from: String, to: String, fromIndex: Int32? = nil, toIndex: Int32? = nil, priority: UInt16? = nil,
        handle: UInt32? = nil)
    /// The endpoint's MAC replaced (macvtap model); put back only while it is `replacement`.
    case setMAC(link: String, original: MACAddress, replacement: MACAddress, ifindex: Int32? = nil)
    /// The endpoint's addresses, routes and permanent neighbours, saved and removed.
    case removeAddresses(link: String, saved: SavedEndpointState)
    /// The endpoint's txqueuelen, which the kernel sets from 0 to 1000 when a qdisc is added
    /// to it (a veth made with txqlen 0, as the CNI ptp plugin makes them). Recorded before
    /// the ingress qdisc is added; put back only while it is still `replacement`.
    case setTxQueueLength(link: String, ifindex: Int32, original: UInt32, replacement: UInt32)

    /// The case's name, as the journal's JSON spells it (log records carry it as `step`).
    var kind: String {
        switch self {
        case .createLink: return "createLink"
        case .addIngressQdisc: return "addIngressQdisc"
        case .addRedirect: return "addRedirect"
        case .setMAC: return "setMAC"
        case .removeAddresses: return "removeAddresses"
        case .setTxQueueLength: return "setTxQueueLength"
        }
    }

    var summary: String {
        switch self {
        case .createLink(let n, _, _): return "create link \(n)"
        case .addIngressQdisc(let l, _, _): return "add ingress qdisc on \(l)"
        case .addRedirect(let f, let t, _, _, _, _): return "redirect \(f) -> \(t)"
        case .setMAC(let l, let o, let r, _): return "set MAC of \(l) \(o) -> \(r)"
        case .removeAddresses(let l, let s): return "remove \(s.addresses.count) addresses of \(l)"
        case .setTxQueueLength(let l, _, let o, let r): return "txqueuelen of \(l) \(o) -> \(r) (by the qdisc add)"
        }
    }
}

/// What the macvtap model takes from an endpoint, to give it back exactly.
public struct SavedEndpointState: Codable, Equatable, Sendable {
    /// In the kernel's order (`ip addr`): restore gives them back in that order.
    public var addresses: [SavedAddress]
    /// Routes of every table (main, local, policy tables) through the endpoint, not the kernel's own.
    public var routes: [SavedRoute]
    public var neighbours: [SavedNeighbour]
    /// The kernel's own routes through the endpoint, every table, when the addresses went:
    /// re-adding addresses can make one that was not there (ff00::/8). nil in journals
    /// written before it was recorded.
    public var kernelRoutes: [SavedRoute]?
    public init(addresses: [SavedAddress], routes: [SavedRoute], neighbours: [SavedNeighbour], kernelRoutes: [SavedRoute]? = nil) {
        self.addresses = addresses
        self.routes = routes
        self.neighbours = neighbours
        self.kernelRoutes = kernelRoutes
    }
}
public struct SavedAddress: Codable, Equatable, Sendable {
    public var prefix: IPPrefix
    public var peer: IPAddress?
    public var broadcast: IPAddress?
    public var label: String?
    public var scope: RouteScope
    public var flags: UInt32
}
// The typed fields encode as the kernel's numbers, as the UInt8/UInt32 fields they
// replaced did: journals written before the types existed still decode (JournalTests).
public struct SavedRoute: Codable, Equatable, Sendable {
    public var family: IPFamily
    public var destination: IPPrefix?
    public var gateway: IPAddress?
    public var preferredSource: IPAddress?
    public var scope: RouteScope
    public var protocolID: RouteProtocol
    public var table: RouteTable
    public var type: RouteType
    public var priority: UInt32?
    public var mtu: UInt32?
    public var onLink: Bool
}
public struct SavedNeighbour: Codable, Equatable, Sendable {
    public var address: IPAddress
    public var mac: MACAddress
    /// NUD_PERMANENT; others are cache entries (listed for the default gateway only).
    public var permanent: Bool
}
