import NetlinkCodec
import SandnetCore

/// A network interface as the kernel reports it (RTM_NEWLINK).
public struct Link: Sendable, Equatable, Codable {
    public var index: Int32
    public var name: String
    /// IFLA_INFO_KIND ("veth", "macvlan", "tun", ...); nil for physical devices and lo.
    public var kind: String?
    /// IFLA_INFO_SLAVE_KIND ("bridge" when enslaved to a bridge).
    public var slaveKind: String?
    public var kindData: LinkKindData?
    public var flags: UInt32
    public var mtu: UInt32?
    public var minMTU: UInt32?
    public var maxMTU: UInt32?
    public var address: MACAddress?
    public var broadcast: MACAddress?
    public var permanentAddress: MACAddress?
    /// ARPHRD_* link type.
    public var linkType: UInt16
    public var txQueueLength: UInt32?
    public var operState: UInt8?
    public var master: Int32?
    /// IFLA_LINK: the lower device (macvlan parent, veth peer index, vlan parent).
    public var parent: Int32?
    /// IFLA_LINK_NETNSID: set when `parent` lives in another namespace.
    public var linkNetnsID: Int32?
    public var group: UInt32?
    public var txQueues: UInt32?
    public var rxQueues: UInt32?
    public var qdisc: String?
    public var alias: String?
    /// Bus and device behind a physical NIC (IFLA_PARENT_DEV_BUS_NAME / _NAME).
    public var parentBus: String?
    public var parentDevice: String?
    public var statistics: LinkStatistics?
    /// Attributes sandnet does not interpret, kept as raw type/bytes.
    public var otherAttributeTypes: [UInt16]

    public var isUp: Bool { flags & IFF.UP != 0 }
    public var isLoopback: Bool { flags & IFF.LOOPBACK != 0 }
    public var hasCarrier: Bool { flags & IFF.LOWER_UP != 0 }

    /// "UP", "DOWN", "UNKNOWN", ... (RFC 2863 operstate, as `ip` prints it).
    public var operStateName: String {
        switch operState ?? 0 {
        case 0: return "UNKNOWN"
        case 1: return "NOTPRESENT"
        case 2: return "DOWN"
        case 3: return "LOWERLAYERDOWN"
        case 4: return "TESTING"
        case 5: return "DORMANT"
        case 6: return "UP"
        default: return "UNKNOWN"
        }
    }
}

/// Kind-specific data (IFLA_INFO_DATA), decoded for the kinds sandnet works with.
public enum LinkKindData: Sendable, Equatable, Codable {
    case veth
    case macvlan(mode: MacvlanMode)
    case macvtap(mode: MacvlanMode)
    case ipvlan(mode: IpvlanMode, flags: UInt16)
    case vlan(id: UInt16, protocolID: UInt16)
    case vxlan(VxlanInfo)
    case tun(TunInfo)
    case bridge
    /// Anything else: the kind's raw attribute types.
    case other(kind: String, attributeTypes: [UInt16])
}

public enum MacvlanMode: String, Sendable, Codable, CaseIterable {
    case `private`, vepa, bridge, passthru, source
    public var kernelValue: UInt32 {
        switch self {
        case .private: return MACVLAN_MODE.PRIVATE
        case .vepa: return MACVLAN_MODE.VEPA
        case .bridge: return MACVLAN_MODE.BRIDGE
        case .passthru: return MACVLAN_MODE.PASSTHRU
        case .source: return MACVLAN_MODE.SOURCE
        }
    }
    public init?(kernelValue: UInt32) {
        guard let m = MacvlanMode.allCases.first(where: { $0.kernelValue == kernelValue }) else { return nil }
        self = m
    }
}

public enum IpvlanMode: String, Sendable, Codable, CaseIterable {
    case l2, l3, l3s
    public var kernelValue: UInt16 {
        switch self {
        case .l2: return IPVLAN_MODE.L2
        case .l3: return IPVLAN_MODE.L3
        case .l3s: return IPVLAN_MODE.L3S
        }
    }
    public init?(kernelValue: UInt16) {
        guard let m = IpvlanMode.allCases.first(where: { $0.kernelValue == kernelValue }) else { return nil }
        self = m
    }
}

public struct VxlanInfo: Sendable, Equatable, Codable {
    public var vni: UInt32
    public var port: UInt16?
    public var group: IPAddress?
    public var local: IPAddress?
    public var lowerIndex: UInt32?
    public var learning: Bool?
    public var ttl: UInt8?
    public init(
        vni: UInt32, port: UInt16? = nil, group: IPAddress? = nil, local: IPAddress? = nil, lowerIndex: UInt32? = nil,
        learning: Bool? = nil, ttl: UInt8? = nil
    ) {
        self.vni = vni
        self.port = port
        self.group = group
        self.local = local
        self.lowerIndex = lowerIndex
        self.learning = learning
        self.ttl = ttl
    }
}

public struct TunInfo: Sendable, Equatable, Codable {
    public enum Mode: String, Sendable, Codable { case tun, tap }
    public var mode: Mode?
    public var packetInfo: Bool?
    public var vnetHeader: Bool?
    public var persistent: Bool?
    public var multiQueue: Bool?
    public var queues: UInt32?
    public var disabledQueues: UInt32?
    public var owner: UInt32?
    public var group: UInt32?
    public init() {}
}

/// struct rtnl_link_stats64, the counters `ip -s link` shows.
public struct LinkStatistics: Sendable, Equatable, Codable {
    public var rxPackets: UInt64, txPackets: UInt64, rxBytes: UInt64, txBytes: UInt64
    public var rxErrors: UInt64, txErrors: UInt64, rxDropped: UInt64, txDropped: UInt64
    public var multicast: UInt64, collisions: UInt64

    /// From the attribute's bytes in place; a short payload throws what the reader below throws.
    static func decode(_ raw: UnsafeRawBufferPointer) throws -> LinkStatistics {
        guard raw.count >= 80 else { return try decode(Array(raw)[...]) }
        func at(_ n: Int) -> UInt64 { UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * n, as: UInt64.self)) }
        return LinkStatistics(
            rxPackets: at(0), txPackets: at(1), rxBytes: at(2), txBytes: at(3), rxErrors: at(4), txErrors: at(5),
            rxDropped: at(6), txDropped: at(7), multicast: at(8), collisions: at(9))
    }

    static func decode(_ payload: ArraySlice<UInt8>) throws -> LinkStatistics {
        var r = ByteReader(payload)
        return LinkStatistics(
            rxPackets: try r.u64(), txPackets: try r.u64(), rxBytes: try r.u64(), txBytes: try r.u64(),
            rxErrors: try r.u64(), txErrors: try r.u64(), rxDropped: try r.u64(), txDropped: try r.u64(),
            multicast: try r.u64(), collisions: try r.u64())
    }
}

extension Link {
    /// Decodes one RTM_NEWLINK message. Unknown attributes are kept, never fatal.
    public static func decode(_ message: NetlinkMessage) throws -> Link {
        var previous: [UInt16] = []
        return try decode(message, sharingUnknownTypesWith: &previous)
    }

    /// The same, walking the attributes in place. `previous` is the unknown-type list of
    /// the link decoded before (the links of one dump mostly carry the same ones): an
    /// equal list shares its storage instead of allocating its own, and is left in
    /// `previous` for the next link.
    static func decode(_ message: NetlinkMessage, sharingUnknownTypesWith previous: inout [UInt16]) throws -> Link {
        try message.withAttributes(after: IfInfoMessage.self) { h, attrs in
            var link = Link(index: h.index, name: "", flags: h.flags, linkType: h.type, otherAttributeTypes: [])
            var unknown = UnknownAttributeTypes(previous: previous)
            while let a = try attrs.next() {
                switch a.type {
                case IFLA.IFNAME: link.name = a.string()
                case IFLA.MTU: link.mtu = try a.u32()
                case IFLA.MIN_MTU: link.minMTU = try a.u32()
                case IFLA.MAX_MTU: link.maxMTU = try a.u32()
                case IFLA.ADDRESS: link.address = MACAddress(bytes: a.payload)
                case IFLA.BROADCAST: link.broadcast = MACAddress(bytes: a.payload)
                case IFLA.PERM_ADDRESS: link.permanentAddress = MACAddress(bytes: a.payload)
                case IFLA.TXQLEN: link.txQueueLength = try a.u32()
                case IFLA.OPERSTATE: link.operState = try a.u8()
                case IFLA.MASTER: link.master = try a.i32()
                case IFLA.LINK: link.parent = try a.i32()
                case IFLA.LINK_NETNSID: link.linkNetnsID = try a.i32()
                case IFLA.GROUP: link.group = try a.u32()
                case IFLA.NUM_TX_QUEUES: link.txQueues = try a.u32()
                case IFLA.NUM_RX_QUEUES: link.rxQueues = try a.u32()
                case IFLA.QDISC: link.qdisc = a.string()
                case IFLA.IFALIAS: link.alias = a.string()
                case IFLA.PARENT_DEV_NAME: link.parentDevice = a.string()
                case IFLA.PARENT_DEV_BUS_NAME: link.parentBus = a.string()
                case IFLA.STATS64: link.statistics = try LinkStatistics.decode(a.payload)
                case IFLA.LINKINFO: try link.decodeLinkInfo(try a.nested())
                default: unknown.append(a.type)
                }
            }
            link.otherAttributeTypes = unknown.finish(updating: &previous)
            return link
        }
    }

    private mutating func decodeLinkInfo(_ info: AttributeCursor) throws {
        // First of each, as `first(_:)` on the attribute array picked them.
        var info = info
        var kindText: String?
        var slaveKindText: String?
        var dataAttribute: RawAttribute?
        while let a = try info.next() {
            switch a.type {
            case IFLA_INFO.KIND: if kindText == nil { kindText = a.string() }
            case IFLA_INFO.SLAVE_KIND: if slaveKindText == nil { slaveKindText = a.string() }
            case IFLA_INFO.DATA: if dataAttribute == nil { dataAttribute = a }
            default: break
            }
        }
        kind = kindText
        slaveKind = slaveKindText
        // Kind data is absent for veth and rare elsewhere: decoded into an array as before.
        let data = try dataAttribute.map { try NetlinkAttribute.decodeAll(Array($0.payload)[...]) } ?? []
        guard let kind else { return }
        switch kind {
        case "veth": kindData = .veth
        case "bridge": kindData = .bridge
        case "macvlan", "macvtap":
            let raw = try data.first(IFLA_MACVLAN.MODE)?.u32() ?? MACVLAN_MODE.VEPA
            let mode = MacvlanMode(kernelValue: raw) ?? .vepa
            kindData = kind == "macvlan" ? .macvlan(mode: mode) : .macvtap(mode: mode)
        case "ipvlan", "ipvtap":
            let mode = IpvlanMode(kernelValue: try data.first(IFLA_IPVLAN.MODE)?.u16() ?? 0) ?? .l2
            kindData = .ipvlan(mode: mode, flags: try data.first(IFLA_IPVLAN.FLAGS)?.u16() ?? 0)
        case "vlan":
            kindData = .vlan(
                id: try data.first(IFLA_VLAN.ID)?.u16() ?? 0,
                protocolID: try data.first(IFLA_VLAN.PROTOCOL)?.be16() ?? 0x8100)
        case "vxlan":
            var v = VxlanInfo(vni: try data.first(IFLA_VXLAN.ID)?.u32() ?? 0)
            v.port = try data.first(IFLA_VXLAN.PORT)?.be16()
            v.group = (data.first(IFLA_VXLAN.GROUP) ?? data.first(IFLA_VXLAN.GROUP6)).flatMap { IPAddress(bytes: $0.payloadSlice) }
            v.local = (data.first(IFLA_VXLAN.LOCAL) ?? data.first(IFLA_VXLAN.LOCAL6)).flatMap { IPAddress(bytes: $0.payloadSlice) }
            v.lowerIndex = try data.first(IFLA_VXLAN.LINK)?.u32()
            v.learning = try data.first(IFLA_VXLAN.LEARNING).map { try $0.u8() != 0 }
            v.ttl = try data.first(IFLA_VXLAN.TTL)?.u8()
            kindData = .vxlan(v)
        case "tun":
            var t = TunInfo()
            if let m = try data.first(IFLA_TUN.TYPE)?.u8() { t.mode = m == 2 ? .tap : .tun } // IFF_TUN=1, IFF_TAP=2
            t.packetInfo = try data.first(IFLA_TUN.PI).map { try $0.u8() != 0 }
            t.vnetHeader = try data.first(IFLA_TUN.VNET_HDR).map { try $0.u8() != 0 }
            t.persistent = try data.first(IFLA_TUN.PERSIST).map { try $0.u8() != 0 }
            t.multiQueue = try data.first(IFLA_TUN.MULTI_QUEUE).map { try $0.u8() != 0 }
            t.queues = try data.first(IFLA_TUN.NUM_QUEUES)?.u32()
            t.disabledQueues = try data.first(IFLA_TUN.NUM_DISABLED_QUEUES)?.u32()
            t.owner = try data.first(IFLA_TUN.OWNER)?.u32()
            t.group = try data.first(IFLA_TUN.GROUP)?.u32()
            kindData = .tun(t)
        default:
            kindData = .other(kind: kind, attributeTypes: data.map(\.type))
        }
    }
}

/// Collects the attribute types a decoder does not interpret. Messages of one dump mostly
/// carry the same ones, so while the list equals the previous message's it is that list
/// (shared storage, no allocation); only a different list gets its own array.
struct UnknownAttributeTypes {
    private let previous: [UInt16]
    private var matched = 0
    private var own: [UInt16]?

    init(previous: [UInt16]) { self.previous = previous }

    mutating func append(_ type: UInt16) {
        if own == nil {
            if matched < previous.count && previous[matched] == type {
                matched += 1
                return
            }
            var diverged = Array(previous[..<matched])
            diverged.reserveCapacity(max(previous.count, 16))
            own = diverged
        }
        own?.append(type)
    }

    /// The list, which also becomes `previous` for the next message.
    func finish(updating previous: inout [UInt16]) -> [UInt16] {
        let list = own ?? (matched == self.previous.count ? self.previous : Array(self.previous[..<matched]))
        previous = list
        return list
    }
}
