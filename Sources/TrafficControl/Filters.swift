import NetlinkCodec
import NetlinkSocket
import Rtnetlink
import SandnetCore

/// One u32 key: `value` under `mask` at byte `offset` of the header (network order on the wire).
public struct U32Key: Sendable, Hashable, Codable {
    public var value: UInt32
    public var mask: UInt32
    public var offset: Int32
    public var offsetMask: Int32
    public init(value: UInt32, mask: UInt32, offset: Int32, offsetMask: Int32 = 0) {
        self.value = value & mask
        self.mask = mask
        self.offset = offset
        self.offsetMask = offsetMask
    }
    /// `match u32 0 0`: every packet.
    public static let everything = U32Key(value: 0, mask: 0, offset: 0)
    /// `match ip dst PREFIX` (IPv4 header offset 16).
    public static func ipv4Destination(_ p: IPPrefix) -> U32Key { ipv4(p, offset: 16) }
    /// `match ip src PREFIX` (IPv4 header offset 12).
    public static func ipv4Source(_ p: IPPrefix) -> U32Key { ipv4(p, offset: 12) }
    /// `match ip protocol N 0xff` (byte 9 of the IPv4 header, inside the word at 8).
    public static func ipProtocol(_ proto: UInt8) -> U32Key { U32Key(value: UInt32(proto) << 16, mask: 0x00ff_0000, offset: 8) }

    static func ipv4(_ p: IPPrefix, offset: Int32) -> U32Key {
        let b = p.address.bytes
        let v = UInt32(b[0]) << 24 | UInt32(b[1]) << 16 | UInt32(b[2]) << 8 | UInt32(b[3])
        let mask: UInt32 = p.length == 0 ? 0 : ~UInt32(0) << UInt32(32 - p.length)
        return U32Key(value: v, mask: mask, offset: offset)
    }
}

/// struct tc_u32_sel: the keys of one u32 node, and whether a match ends classification.
public struct U32Selector: Sendable, Hashable, Codable {
    /// TC_U32_TERMINAL: a match is final (tc sets it whenever the filter has actions or a classid).
    public var terminal: Bool
    public var flags: UInt8
    public var keys: [U32Key]
    public init(keys: [U32Key], terminal: Bool = true) {
        self.keys = keys
        self.terminal = terminal
        self.flags = terminal ? TC_U32.TERMINAL : 0
    }
    /// `u32 match u32 0 0` with the terminal flag: the match-all the tcfilter model uses.
    public static let matchAll = U32Selector(keys: [.everything])

    public var bytes: [UInt8] {
        var w = ByteWriter()
        w.u8(flags | (terminal ? TC_U32.TERMINAL : 0))
        w.u8(0)
        w.u8(UInt8(keys.count))
        w.u8(0) // flags offshift nkeys pad
        w.u16(0)
        w.u16(0)
        w.u16(0)
        w.u16(0)
        w.u32(0) // offmask off offoff hoff hmask
        for k in keys {
            w.u32(k.mask.bigEndian)
            w.u32(k.value.bigEndian)
            w.i32(k.offset)
            w.i32(k.offsetMask)
        }
        return w.bytes
    }
    public static func decode(_ payload: [UInt8]) throws -> U32Selector {
        var r = ByteReader(payload)
        let flags = try r.u8("tc_u32_sel.flags")
        _ = try r.u8()
        let n = Int(try r.u8("tc_u32_sel.nkeys"))
        _ = try r.u8()
        try r.skip(12, "tc_u32_sel offsets")
        var keys: [U32Key] = []
        for _ in 0..<n {
            let mask = UInt32(bigEndian: try r.u32("tc_u32_key.mask"))
            let value = UInt32(bigEndian: try r.u32("tc_u32_key.val"))
            keys.append(U32Key(value: value, mask: mask, offset: try r.i32("tc_u32_key.off"), offsetMask: try r.i32("tc_u32_key.offmask")))
        }
        var s = U32Selector(keys: keys, terminal: flags & TC_U32.TERMINAL != 0)
        s.flags = flags
        return s
    }
}

/// flower keys sandnet can express (the kernel may lack cls_flower: probe first).
public struct FlowerMatch: Sendable, Hashable, Codable {
    public var ipProtocol: UInt8?
    public var ipv4Destination: IPPrefix?
    public var ipv4Source: IPPrefix?
    public var ethernetDestination: MACAddress?
    public init(
        ipProtocol: UInt8? = nil, ipv4Destination: IPPrefix? = nil, ipv4Source: IPPrefix? = nil, ethernetDestination: MACAddress? = nil
    ) {
        self.ipProtocol = ipProtocol
        self.ipv4Destination = ipv4Destination
        self.ipv4Source = ipv4Source
        self.ethernetDestination = ethernetDestination
    }
}

/// What to add with `tc filter add`.
public enum FilterKindSpec: Sendable, Equatable {
    case u32(U32Selector, classID: TcHandle? = nil, actions: [TcAction])
    case matchall(classID: TcHandle? = nil, actions: [TcAction])
    case flower(FlowerMatch, classID: TcHandle? = nil, actions: [TcAction])
    public var kindName: String {
        switch self {
        case .u32: return "u32"
        case .matchall: return "matchall"
        case .flower: return "flower"
        }
    }
}

/// `tc filter add dev DEV parent P protocol PROTO pref PRIO [handle H] [chain C] KIND ...`
public struct FilterSpec: Sendable, Equatable {
    public var device: LinkReference
    public var parent: TcHandle
    /// 0 lets the kernel choose (it starts at 49152 and counts down).
    public var priority: UInt16
    /// ETH_P_* in host order.
    public var protocolID: UInt16
    public var handle: UInt32
    public var chain: UInt32?
    public var kind: FilterKindSpec
    public init(
        device: LinkReference, parent: TcHandle, priority: UInt16 = 0, protocolID: UInt16 = ETH_P.ALL,
        handle: UInt32 = 0, chain: UInt32? = nil, kind: FilterKindSpec
    ) {
        self.device = device
        self.parent = parent
        self.priority = priority
        self.protocolID = protocolID
        self.handle = handle
        self.chain = chain
        self.kind = kind
    }
}

/// A filter as the kernel reports it (RTM_NEWTFILTER): what `tc -j -d filter show` prints.
/// A u32 filter shows up as several entries: the priority itself, each hash table, each node.
public struct Filter: Sendable, Equatable, Codable {
    public var index: Int32
    public var parent: TcHandle
    public var handle: UInt32
    public var priority: UInt16
    public var protocolID: UInt16
    public var kind: String
    public var chain: UInt32?
    public var classID: TcHandle?
    /// TCA_CLS_FLAGS_* (`skip_hw`, `not_in_hw`...).
    public var flags: UInt32?
    public var actions: [FilterAction]
    public var u32: U32Info?
    public var flower: FlowerMatch?
    /// False for the bare entry that only announces a priority/kind (no TCA_OPTIONS).
    public var hasOptions: Bool

    public var protocolName: String { EthernetProtocol.name(protocolID) }
    public var notInHardware: Bool { (flags ?? 0) & TCA_CLS_FLAGS.NOT_IN_HW != 0 }
    public var skipHardware: Bool { (flags ?? 0) & TCA_CLS_FLAGS.SKIP_HW != 0 }
}

/// u32 node details: `fh`, `ht_divisor`, `key_ht`, `bkt`, `link`, `match`, `terminal`.
public struct U32Info: Sendable, Equatable, Codable {
    public var divisor: UInt32?
    /// TCA_U32_HASH: the hash table and bucket the node sits in.
    public var hashTable: UInt32?
    public var link: UInt32?
    public var selector: U32Selector?
    public var inputDevice: String?

    /// tc's `fh` spelling of a u32 handle: `800:`, `800::800`.
    public static func handleText(_ h: UInt32) -> String {
        let htid = h >> 20 & 0xfff
        let hash = h >> 12 & 0xff
        let node = h & 0xfff
        var s = htid != 0 ? String(htid, radix: 16) : ""
        s += ":"
        if hash != 0 || node != 0 { s += hash != 0 ? String(hash, radix: 16) : "" }
        if node != 0 { s += ":" + String(node, radix: 16) }
        return s
    }
    /// `key_ht` and `bkt` as tc prints them.
    public var keyHashTable: UInt32? { hashTable.map { $0 >> 20 & 0xfff } }
    public var bucket: UInt32? { hashTable.map { $0 >> 12 & 0xff } }
}

extension Filter {
    public static func decode(_ message: NetlinkMessage) throws -> Filter {
        let (h, attrs) = try TcMessageHeader.decode(message)
        var f = Filter(
            index: h.index, parent: TcHandle(rawValue: h.parent), handle: h.handle, priority: UInt16(h.info >> 16),
            protocolID: UInt16(bigEndian: UInt16(h.info & 0xffff)), kind: attrs.first(TCA.KIND)?.string() ?? "",
            chain: try attrs.first(TCA.CHAIN)?.u32(), actions: [], hasOptions: false)
        guard let optionsAttr = attrs.first(TCA.OPTIONS) else { return f }
        f.hasOptions = true
        let o = try optionsAttr.nested()
        switch f.kind {
        case "u32":
            var u = U32Info()
            f.classID = try o.first(TCA_U32.CLASSID).map { TcHandle(rawValue: try $0.u32()) }
            u.divisor = try o.first(TCA_U32.DIVISOR)?.u32()
            u.hashTable = try o.first(TCA_U32.HASH)?.u32()
            u.link = try o.first(TCA_U32.LINK)?.u32()
            u.selector = try o.first(TCA_U32.SEL).map { try U32Selector.decode($0.payload) }
            u.inputDevice = o.first(TCA_U32.INDEV)?.string()
            f.flags = try o.first(TCA_U32.FLAGS)?.u32()
            if let a = o.first(TCA_U32.ACT) { f.actions = try ActionCodec.decode(a) }
            f.u32 = u
        case "matchall":
            f.classID = try o.first(TCA_MATCHALL.CLASSID).map { TcHandle(rawValue: try $0.u32()) }
            f.flags = try o.first(TCA_MATCHALL.FLAGS)?.u32()
            if let a = o.first(TCA_MATCHALL.ACT) { f.actions = try ActionCodec.decode(a) }
        case "flower":
            f.classID = try o.first(TCA_FLOWER.CLASSID).map { TcHandle(rawValue: try $0.u32()) }
            f.flags = try o.first(TCA_FLOWER.FLAGS)?.u32()
            if let a = o.first(TCA_FLOWER.ACT) { f.actions = try ActionCodec.decode(a) }
            var m = FlowerMatch()
            m.ipProtocol = try o.first(TCA_FLOWER.KEY_IP_PROTO)?.u8()
            m.ethernetDestination = o.first(TCA_FLOWER.KEY_ETH_DST).map { MACAddress(bytes: $0.payload) }
            func prefix(_ key: UInt16, _ mask: UInt16) -> IPPrefix? {
                guard let a = o.first(key).flatMap({ IPAddress(bytes: $0.payloadSlice) }) else { return nil }
                let bits = o.first(mask)?.payload.reduce(0) { $0 + $1.nonzeroBitCount } ?? 32
                return IPPrefix(address: a, length: bits)
            }
            m.ipv4Destination = prefix(TCA_FLOWER.KEY_IPV4_DST, TCA_FLOWER.KEY_IPV4_DST_MASK)
            m.ipv4Source = prefix(TCA_FLOWER.KEY_IPV4_SRC, TCA_FLOWER.KEY_IPV4_SRC_MASK)
            f.flower = m
        default:
            break
        }
        return f
    }
}

extension Rtnetlink {
    /// `tc -d filter show dev DEV parent P`
    public func filters(device: LinkReference, parent: TcHandle) throws -> [Filter] {
        let op = "list filters"
        let h = TcMessageHeader(index: try index(of: device), parent: parent.rawValue)
        let req = NetlinkMessage(type: RTM.GETTFILTER, flags: .dump, body: h.bytes)
        return try decodeTc(
            try dump(req, operation: op, object: "dev \(device) parent \(parent)"), type: RTM.NEWTFILTER,
            operation: op, Filter.decode)
    }

    /// Every filter of `device`, under each hook of each qdisc it has (ingress, clsact's
    /// two, the root qdisc and its classes' parent).
    public func filters(device: LinkReference) throws -> [Filter] {
        var parents: [TcHandle] = []
        for q in try qdiscs(device: device) {
            switch q.kind {
            case "ingress": parents.append(.ingressQdisc)
            case "clsact": parents += [.clsactIngress, .clsactEgress]
            default: if q.handle != .unspecified { parents.append(q.handle) }
            }
        }
        return try parents.flatMap { try filters(device: device, parent: $0) }
    }

    /// `tc filter add dev DEV parent P protocol PROTO pref PRIO KIND ...`
    public func filterAdd(_ spec: FilterSpec) throws {
        let request = Self.filterAddRequest(spec, index: try index(of: spec.device))
        try execute(request, operation: "add filter", object: "\(spec.kind.kindName) dev \(spec.device) parent \(spec.parent)")
    }

    /// `tc filter del dev DEV parent P [pref PRIO [protocol PROTO [handle H KIND]]]`
    public func filterDelete(
        device: LinkReference, parent: TcHandle, priority: UInt16 = 0, protocolID: UInt16 = 0,
        handle: UInt32 = 0, kind: String? = nil
    ) throws {
        let request = Self.filterDeleteRequest(
            index: try index(of: device), parent: parent, priority: priority,
            protocolID: protocolID, handle: handle, kind: kind)
        try execute(request, operation: "delete filter", object: "dev \(device) parent \(parent) pref \(priority)")
    }

    /// RTM_NEWTFILTER for `spec` on ifindex `index`. Pure: tested byte for byte against what tc sends.
    public static func filterAddRequest(_ spec: FilterSpec, index: Int32) -> NetlinkMessage {
        var a = AttributeWriter()
        a.add(TCA.KIND, string: spec.kind.kindName)
        if let c = spec.chain { a.add(TCA.CHAIN, u32: c) }
        switch spec.kind {
        case .u32(let selector, let classID, let actions):
            a.nest(TCA.OPTIONS) { o in
                if let c = classID { o.add(TCA_U32.CLASSID, u32: c.rawValue) }
                if !actions.isEmpty { o.nest(TCA_U32.ACT) { ActionCodec.encode(actions, into: &$0) } }
                o.add(TCA_U32.SEL, selector.bytes)
            }
        case .matchall(let classID, let actions):
            a.nest(TCA.OPTIONS) { o in
                if let c = classID { o.add(TCA_MATCHALL.CLASSID, u32: c.rawValue) }
                if !actions.isEmpty { o.nest(TCA_MATCHALL.ACT) { ActionCodec.encode(actions, into: &$0) } }
            }
        case .flower(let match, let classID, let actions):
            a.nest(TCA.OPTIONS, nestedFlag: true) { o in
                if let c = classID { o.add(TCA_FLOWER.CLASSID, u32: c.rawValue) }
                if !actions.isEmpty { o.nest(TCA_FLOWER.ACT) { ActionCodec.encode(actions, into: &$0) } }
                if spec.protocolID != ETH_P.ALL { o.add(TCA_FLOWER.KEY_ETH_TYPE, be16: spec.protocolID) }
                if let p = match.ipProtocol { o.add(TCA_FLOWER.KEY_IP_PROTO, u8: p) }
                if let m = match.ethernetDestination {
                    o.add(TCA_FLOWER.KEY_ETH_DST, m.bytes)
                    o.add(TCA_FLOWER.KEY_ETH_DST_MASK, [UInt8](repeating: 0xff, count: 6))
                }
                for (p, key, maskKey) in [
                    (match.ipv4Source, TCA_FLOWER.KEY_IPV4_SRC, TCA_FLOWER.KEY_IPV4_SRC_MASK),
                    (match.ipv4Destination, TCA_FLOWER.KEY_IPV4_DST, TCA_FLOWER.KEY_IPV4_DST_MASK)
                ] {
                    guard let p else { continue }
                    let mask: UInt32 = p.length == 0 ? 0 : ~UInt32(0) << UInt32(32 - p.length)
                    o.add(key, p.address.bytes)
                    o.add(maskKey, be32: mask)
                }
                o.add(TCA_FLOWER.FLAGS, u32: 0)
            }
        }
        let h = TcMessageHeader(
            index: index, handle: spec.handle, parent: spec.parent.rawValue,
            info: UInt32(spec.priority) << 16 | UInt32(spec.protocolID.bigEndian))
        return NetlinkMessage(type: RTM.NEWTFILTER, flags: [.create, .exclusive], body: h.bytes, attributes: a)
    }

    /// RTM_DELTFILTER. Priority 0 deletes every filter under `parent`.
    public static func filterDeleteRequest(
        index: Int32, parent: TcHandle, priority: UInt16, protocolID: UInt16,
        handle: UInt32, kind: String?
    ) -> NetlinkMessage {
        var a = AttributeWriter()
        if let kind { a.add(TCA.KIND, string: kind) }
        let h = TcMessageHeader(
            index: index, handle: handle, parent: parent.rawValue,
            info: UInt32(priority) << 16 | UInt32(protocolID.bigEndian))
        return NetlinkMessage(type: RTM.DELTFILTER, flags: [], body: h.bytes, attributes: a)
    }
}
