import Foundation
import NetlinkCodec
import NetlinkSocket
import SandnetCore

#if canImport(Glibc)
    import Glibc
#endif

/// Where a link is, by name or index.
public enum LinkReference: Sendable, Hashable, CustomStringConvertible {
    case name(String)
    case index(Int32)
    public var description: String {
        switch self {
        case .name(let n): return n
        case .index(let i): return "ifindex \(i)"
        }
    }
}

/// What to create with `ip link add`.
public enum LinkKindSpec: Sendable, Equatable {
    /// A veth pair; the peer may be created straight into another namespace.
    case veth(peerName: String, peerNamespace: NetworkNamespace? = nil)
    case dummy
    case bridge
    /// An intermediate functional block: what a mirred redirect sends it comes back as received, so its egress qdisc can shape another link's ingress.
    case ifb
    case macvlan(parent: LinkReference, mode: MacvlanMode)
    case macvtap(parent: LinkReference, mode: MacvlanMode)
    case ipvlan(parent: LinkReference, mode: IpvlanMode, flags: UInt16 = 0)
    case vlan(parent: LinkReference, id: UInt16)
    case vxlan(
        vni: UInt32, port: UInt16? = nil, group: IPAddress? = nil, local: IPAddress? = nil, parent: LinkReference? = nil,
        learning: Bool? = nil)

    public var kindName: String {
        switch self {
        case .veth: return "veth"
        case .dummy: return "dummy"
        case .bridge: return "bridge"
        case .ifb: return "ifb"
        case .macvlan: return "macvlan"
        case .macvtap: return "macvtap"
        case .ipvlan: return "ipvlan"
        case .vlan: return "vlan"
        case .vxlan: return "vxlan"
        }
    }
}

/// A link to create: its kind plus the common attributes.
public struct LinkSpec: Sendable, Equatable {
    public var name: String
    public var kind: LinkKindSpec
    public var mtu: UInt32?
    public var address: MACAddress?
    public var txQueueLength: UInt32?
    public var up: Bool
    public var group: UInt32?
    /// Ask for a specific ifindex (macvtap's /dev/tapN number follows it).
    public var index: Int32?
    public var numTxQueues: UInt32?
    public var numRxQueues: UInt32?

    public init(
        name: String, kind: LinkKindSpec, mtu: UInt32? = nil, address: MACAddress? = nil, txQueueLength: UInt32? = nil,
        up: Bool = false, group: UInt32? = nil, index: Int32? = nil, numTxQueues: UInt32? = nil, numRxQueues: UInt32? = nil
    ) {
        self.name = name
        self.kind = kind
        self.mtu = mtu
        self.address = address
        self.txQueueLength = txQueueLength
        self.up = up
        self.group = group
        self.index = index
        self.numTxQueues = numTxQueues
        self.numRxQueues = numRxQueues
    }
}

/// Changes for `ip link set`. Every nil field is left alone.
public struct LinkChange: Sendable, Equatable {
    public var up: Bool?
    public var mtu: UInt32?
    public var address: MACAddress?
    public var name: String?
    /// Enslave to this master; `.index(0)` releases (`nomaster`).
    public var master: LinkReference?
    public var txQueueLength: UInt32?
    public var group: UInt32?
    /// Move the link into another namespace (`ip link set DEV netns NS`).
    public var namespace: NetworkNamespace?
    public init(
        up: Bool? = nil, mtu: UInt32? = nil, address: MACAddress? = nil, name: String? = nil, master: LinkReference? = nil,
        txQueueLength: UInt32? = nil, group: UInt32? = nil, namespace: NetworkNamespace? = nil
    ) {
        self.up = up
        self.mtu = mtu
        self.address = address
        self.name = name
        self.master = master
        self.txQueueLength = txQueueLength
        self.group = group
        self.namespace = namespace
    }
}

extension Rtnetlink {
    // MARK: read

    /// `ip -d -s link show`
    public func links() throws -> [Link] {
        let op = "list links"
        let req = NetlinkMessage(type: RTM.GETLINK, flags: [], body: IfInfoMessage().bytes)
        var previousUnknownTypes: [UInt16] = []
        return try dumpDecoding(req, type: RTM.NEWLINK, operation: op) {
            try Link.decode($0, sharingUnknownTypesWith: &previousUnknownTypes)
        }
    }

    /// `ip -d link show dev NAME` / by index. A missing link throws ENODEV.
    public func link(_ ref: LinkReference) throws -> Link {
        let op = "get link"
        var attrs = AttributeWriter()
        var h = IfInfoMessage()
        switch ref {
        case .name(let n):
            try InterfaceName.validate(n, operation: op)
            attrs.add(IFLA.IFNAME, string: n)
        case .index(let i): h.index = i
        }
        let replies = try execute(
            NetlinkMessage(type: RTM.GETLINK, flags: [], body: h.bytes, attributes: attrs),
            operation: op, object: ref.description)
        guard let link = try decodeAll(replies, type: RTM.NEWLINK, operation: op, { try Link.decode($0) }).first else {
            throw NetlinkError.kernel(KernelRefusal(operation: op, object: ref.description, errno: ENODEV, kernelMessage: nil))
        }
        return link
    }
    public func link(named name: String) throws -> Link { try link(.name(name)) }
    public func link(index: Int32) throws -> Link { try link(.index(index)) }

    /// Index of a link by name (resolving LinkReference).
    public func index(of ref: LinkReference) throws -> Int32 { try index(of: ref, operation: "get link") }

    /// The same; a bad name is reported under `operation`, the caller's, not as a failed lookup.
    package func index(of ref: LinkReference, operation: String) throws -> Int32 {
        switch ref {
        case .index(let i): return i
        case .name(let n):
            try InterfaceName.validate(n, operation: operation)
            return try link(ref).index
        }
    }

    // MARK: write

    /// `ip link add NAME [mtu M] [address MAC] [txqueuelen N] [group G] type KIND ...`
    public func linkAdd(_ spec: LinkSpec) throws { _ = try linkAdd(spec, echo: false) }

    /// The same; with `echo` the link as the kernel made it, from the NLM_F_ECHO copy it
    /// sends back (Linux 6.1 and later echo a link creation; nil from older kernels, where
    /// the caller looks it up). Saves the RTM_GETLINK that learns a new link's ifindex.
    public func linkAdd(_ spec: LinkSpec, echo: Bool) throws -> Link? {
        let op = "add \(spec.kind.kindName) link"
        try InterfaceName.validate(spec.name, operation: op)
        if case .veth(let peer, _) = spec.kind { try InterfaceName.validate(peer, operation: op) }
        var peerNamespaceFD: Int32 = -1
        defer { if peerNamespaceFD >= 0 { Glibc.close(peerNamespaceFD) } }
        if case .veth(_, let ns?) = spec.kind { peerNamespaceFD = try ns.open() }
        let parentIndex: Int32? = try {
            switch spec.kind {
            case .macvlan(let p, _), .macvtap(let p, _), .ipvlan(let p, _, _), .vlan(let p, _): return try index(of: p)
            case .vxlan(_, _, _, _, let p?, _): return try index(of: p)
            default: return nil
            }
        }()
        var message = Self.linkAddRequest(spec, parentIndex: parentIndex, peerNamespaceFD: peerNamespaceFD)
        if echo { message.header.flags.formUnion(.echo) }
        let replies = try execute(message, operation: op, object: spec.name)
        guard echo else { return nil }
        return try decodeAll(replies, type: RTM.NEWLINK, operation: op, { try Link.decode($0) }).first { $0.name == spec.name }
    }

    /// Builds RTM_NEWLINK for `spec`. Pure: tested byte for byte.
    public static func linkAddRequest(_ spec: LinkSpec, parentIndex: Int32?, peerNamespaceFD: Int32 = -1) -> NetlinkMessage {
        var a = AttributeWriter()
        a.add(IFLA.IFNAME, string: spec.name)
        if let m = spec.mtu { a.add(IFLA.MTU, u32: m) }
        if let mac = spec.address { a.add(IFLA.ADDRESS, mac.bytes) }
        if let q = spec.txQueueLength { a.add(IFLA.TXQLEN, u32: q) }
        if let g = spec.group { a.add(IFLA.GROUP, u32: g) }
        if let n = spec.numTxQueues { a.add(IFLA.NUM_TX_QUEUES, u32: n) }
        if let n = spec.numRxQueues { a.add(IFLA.NUM_RX_QUEUES, u32: n) }
        if let p = parentIndex { a.add(IFLA.LINK, i32: p) }
        a.nest(IFLA.LINKINFO) { info in
            info.add(IFLA_INFO.KIND, string: spec.kind.kindName)
            switch spec.kind {
            case .veth(let peer, _):
                info.nest(IFLA_INFO.DATA) { d in
                    d.nest(VETH_INFO.PEER) { p in
                        // The peer is an ifinfomsg followed by its own attributes.
                        p.writer.append(IfInfoMessage().bytes)
                        p.add(IFLA.IFNAME, string: peer)
                        if let m = spec.mtu { p.add(IFLA.MTU, u32: m) }
                        if peerNamespaceFD >= 0 { p.add(IFLA.NET_NS_FD, u32: UInt32(peerNamespaceFD)) }
                    }
                }
            case .macvlan(_, let mode), .macvtap(_, let mode):
                info.nest(IFLA_INFO.DATA) { $0.add(IFLA_MACVLAN.MODE, u32: mode.kernelValue) }
            case .ipvlan(_, let mode, let flags):
                info.nest(IFLA_INFO.DATA) { d in
                    d.add(IFLA_IPVLAN.MODE, u16: mode.kernelValue)
                    if flags != 0 { d.add(IFLA_IPVLAN.FLAGS, u16: flags) }
                }
            case .vlan(_, let id):
                info.nest(IFLA_INFO.DATA) { $0.add(IFLA_VLAN.ID, u16: id) }
            case .vxlan(let vni, let port, let group, let local, let parent, let learning):
                info.nest(IFLA_INFO.DATA) { d in
                    d.add(IFLA_VXLAN.ID, u32: vni)
                    if let g = group { d.add(g.isIPv4 ? IFLA_VXLAN.GROUP : IFLA_VXLAN.GROUP6, g.bytes) }
                    if let l = local { d.add(l.isIPv4 ? IFLA_VXLAN.LOCAL : IFLA_VXLAN.LOCAL6, l.bytes) }
                    if parent != nil, let p = parentIndex { d.add(IFLA_VXLAN.LINK, u32: UInt32(p)) }
                    if let l = learning { d.add(IFLA_VXLAN.LEARNING, u8: l ? 1 : 0) }
                    d.add(IFLA_VXLAN.PORT, be16: port ?? 4789)
                }
            case .dummy, .bridge, .ifb:
                break
            }
        }
        var h = IfInfoMessage()
        if let i = spec.index { h.index = i }
        if spec.up {
            h.flags = IFF.UP
            h.change = IFF.UP
        }
        return NetlinkMessage(type: RTM.NEWLINK, flags: [.create, .exclusive], body: h.bytes, attributes: a)
    }

    /// `ip link del DEV`
    public func linkDelete(_ ref: LinkReference) throws {
        let op = "delete link"
        var h = IfInfoMessage()
        var a = AttributeWriter()
        switch ref {
        case .name(let n):
            try InterfaceName.validate(n, operation: op)
            a.add(IFLA.IFNAME, string: n)
        case .index(let i): h.index = i
        }
        try execute(NetlinkMessage(type: RTM.DELLINK, flags: [], body: h.bytes, attributes: a), operation: op, object: ref.description)
    }

    /// `ip link del group N`: every link in the group goes in one request, so the kernel
    /// pays one unregister (RCU grace period) for the lot instead of one per link.
    public func linkDeleteGroup(_ group: UInt32) throws {
        guard group != 0 else {
            throw NetlinkError.invalidArgument(operation: "delete link group", reason: "group 0 is the default group of every link")
        }
        var a = AttributeWriter()
        a.add(IFLA.GROUP, u32: group)
        try execute(
            NetlinkMessage(type: RTM.DELLINK, flags: [], body: IfInfoMessage().bytes, attributes: a),
            operation: "delete link group", object: "\(group)")
    }

    /// `ip link set DEV [up|down] [mtu M] [address MAC] [name N] [master M|nomaster] [txqueuelen Q] [group G] [netns NS]`
    public func linkSet(_ ref: LinkReference, _ change: LinkChange) throws {
        let op = "set link"
        if let n = change.name { try InterfaceName.validate(n, operation: op) }
        let index = try index(of: ref, operation: op)
        let master = try change.master.map { try self.index(of: $0) }
        let (h, parts) = Self.linkSetParts(index: index, change)
        var a = parts
        if let m = master { a.add(IFLA.MASTER, i32: m) }
        var nsFD: Int32 = -1
        defer { if nsFD >= 0 { Glibc.close(nsFD) } }
        if let ns = change.namespace {
            nsFD = try ns.open()
            a.add(IFLA.NET_NS_FD, u32: UInt32(nsFD))
        }
        try execute(NetlinkMessage(type: RTM.NEWLINK, flags: [], body: h.bytes, attributes: a), operation: op, object: ref.description)
    }

    /// The RTM_NEWLINK that `linkSet` sends for `change` on ifindex `index`, for a batch
    /// (`executeBatch`). Pure; a master and a namespace need lookups and descriptors, so
    /// a change with either is refused here (use `linkSet`).
    public static func linkSetRequest(index: Int32, _ change: LinkChange) throws -> NetlinkRequest {
        guard change.master == nil, change.namespace == nil else {
            throw NetlinkError.invalidArgument(operation: "set link", reason: "a batched link change cannot set a master or namespace")
        }
        if let n = change.name { try InterfaceName.validate(n, operation: "set link") }
        let (h, a) = linkSetParts(index: index, change)
        return NetlinkRequest(
            NetlinkMessage(type: RTM.NEWLINK, flags: [], body: h.bytes, attributes: a), operation: "set link",
            object: "ifindex \(index)")
    }

    static func linkSetParts(index: Int32, _ change: LinkChange) -> (IfInfoMessage, AttributeWriter) {
        var h = IfInfoMessage(index: index)
        var a = AttributeWriter()
        if let up = change.up {
            h.change = IFF.UP
            h.flags = up ? IFF.UP : 0
        }
        if let m = change.mtu { a.add(IFLA.MTU, u32: m) }
        if let mac = change.address { a.add(IFLA.ADDRESS, mac.bytes) }
        if let n = change.name { a.add(IFLA.IFNAME, string: n) }
        if let q = change.txQueueLength { a.add(IFLA.TXQLEN, u32: q) }
        if let g = change.group { a.add(IFLA.GROUP, u32: g) }
        return (h, a)
    }
}
