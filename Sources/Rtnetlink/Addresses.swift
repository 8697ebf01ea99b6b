import NetlinkCodec
import NetlinkSocket
import SandnetCore

/// An IP address on an interface, as the kernel reports it (RTM_NEWADDR).
public struct Address: Sendable, Equatable, Codable {
    /// Interface index (ifa_index).
    public var index: Int32
    /// `.inet` or `.inet6` (ifa_family).
    public var family: IPFamily
    /// The local address and its prefix length: what `ip addr` prints after `inet`.
    public var prefix: IPPrefix
    /// The other end of a point-to-point address (`peer`), when it differs from the local one.
    public var peer: IPAddress?
    public var broadcast: IPAddress?
    /// `.universe` (`global`), `.link`, `.host`, ... (ifa_scope).
    public var scope: RouteScope
    /// IFA_F_* (IFA_FLAGS when present: it holds the bits above 0xff that ifa_flags cannot).
    public var flags: UInt32
    /// IFA_LABEL (IPv4 only, defaults to the interface name).
    public var label: String?
    /// Seconds left; nil or UInt32.max means forever (IFA_CACHEINFO).
    public var validLifetime: UInt32?
    public var preferredLifetime: UInt32?

    public init(
        index: Int32, family: IPFamily, prefix: IPPrefix, peer: IPAddress? = nil, broadcast: IPAddress? = nil,
        scope: RouteScope = .universe, flags: UInt32 = 0, label: String? = nil,
        validLifetime: UInt32? = nil, preferredLifetime: UInt32? = nil
    ) {
        self.index = index
        self.family = family
        self.prefix = prefix
        self.peer = peer
        self.broadcast = broadcast
        self.scope = scope
        self.flags = flags
        self.label = label
        self.validLifetime = validLifetime
        self.preferredLifetime = preferredLifetime
    }

    public var isPermanent: Bool { flags & IFA_F.PERMANENT != 0 }
    /// "global", "link", "host", ... as `ip` prints scopes.
    public var scopeName: String { scope.description }
    /// Flag names as `ip -j addr` lists them ("permanent", "nodad", ...).
    public var flagNames: [String] { AddressFlagNames.names(flags) }
}

/// What to add with `ip addr add`.
public struct AddressSpec: Sendable, Equatable {
    public var prefix: IPPrefix
    public var peer: IPAddress?
    public var broadcast: IPAddress?
    public var label: String?
    /// nil: global for ordinary addresses, host for 127/8 (what `ip` does).
    public var scope: RouteScope?
    /// IFA_F_* to set. IPv6 defaults to IFA_F_NODAD: the address is usable at once instead of
    /// "tentative" for a second of duplicate-address detection, which makes tests race.
    public var flags: UInt32
    /// Replace an existing identical address instead of failing with EEXIST (`ip addr replace`).
    public var replace: Bool

    public init(
        _ prefix: IPPrefix, peer: IPAddress? = nil, broadcast: IPAddress? = nil, label: String? = nil,
        scope: RouteScope? = nil, flags: UInt32? = nil, replace: Bool = false
    ) {
        self.prefix = prefix
        self.peer = peer
        self.broadcast = broadcast
        self.label = label
        self.scope = scope
        self.flags = flags ?? (prefix.address.isIPv4 ? 0 : IFA_F.NODAD)
        self.replace = replace
    }
}

extension Address {
    /// Decodes one RTM_NEWADDR/RTM_DELADDR message.
    public static func decode(_ message: NetlinkMessage) throws -> Address? {
        try message.withAttributes(after: IfAddrMessage.self) { h, attrs in
            // The first of each, as the attribute array's `first(_:)` picked them; read after
            // the walk so value errors come in the order they always came.
            var addressAttribute: RawAttribute?
            var localAttribute: RawAttribute?
            var broadcastAttribute: RawAttribute?
            var labelAttribute: RawAttribute?
            var flagsAttribute: RawAttribute?
            var cacheAttribute: RawAttribute?
            while let a = try attrs.next() {
                switch a.type {
                case IFA.ADDRESS: if addressAttribute == nil { addressAttribute = a }
                case IFA.LOCAL: if localAttribute == nil { localAttribute = a }
                case IFA.BROADCAST: if broadcastAttribute == nil { broadcastAttribute = a }
                case IFA.LABEL: if labelAttribute == nil { labelAttribute = a }
                case IFA.FLAGS: if flagsAttribute == nil { flagsAttribute = a }
                case IFA.CACHEINFO: if cacheAttribute == nil { cacheAttribute = a }
                default: break
                }
            }
            // Only IPv4 and IPv6 addresses are addresses here (a dump may carry others, e.g. MPLS).
            guard let family = IPFamily(rawValue: h.family) else { return nil }
            // IPv4 puts the local address in IFA_LOCAL and the peer (or the same address) in
            // IFA_ADDRESS; IPv6 sends only IFA_ADDRESS unless there is a peer.
            let address = addressAttribute.flatMap { IPAddress(bytes: $0.payload) }
            let local = localAttribute.flatMap { IPAddress(bytes: $0.payload) }
            guard let mine = local ?? address else { return nil }
            var a = Address(
                index: Int32(bitPattern: h.index), family: family,
                prefix: IPPrefix(address: mine, length: Int(h.prefixLength)), scope: RouteScope(rawValue: h.scope),
                flags: UInt32(h.flags))
            if let local, let address, local != address { a.peer = address }
            a.broadcast = broadcastAttribute.flatMap { IPAddress(bytes: $0.payload) }
            a.label = labelAttribute?.string()
            if let f = try flagsAttribute?.u32() { a.flags = f }
            if let c = cacheAttribute {
                // struct ifa_cacheinfo { ifa_prefered, ifa_valid, cstamp, tstamp }
                if c.payload.count >= 8 {
                    a.preferredLifetime = UInt32(littleEndian: c.payload.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
                    a.validLifetime = UInt32(littleEndian: c.payload.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
                } else {
                    var r = ByteReader(Array(c.payload))
                    a.preferredLifetime = try r.u32("ifa_cacheinfo.ifa_prefered")
                    a.validLifetime = try r.u32("ifa_cacheinfo.ifa_valid")
                }
            }
            return a
        }
    }
}

extension Rtnetlink {
    // MARK: read

    /// `ip addr show` (`ip -4`/`ip -6` with a family; nil: both)
    public func addresses(family: IPFamily? = nil) throws -> [Address] {
        let op = "list addresses"
        return try dumpDecoding(
            Self.addressDumpRequest(family: family), type: RTM.NEWADDR, operation: op
        ) { try Address.decode($0) }
    }

    /// `ip addr show dev DEV`
    public func addresses(of link: LinkReference, family: IPFamily? = nil) throws -> [Address] {
        let index = try index(of: link)
        return try addresses(family: family).filter { $0.index == index }
    }

    // MARK: write

    /// `ip addr add PREFIX [peer P] [broadcast B] [label L] [scope S] dev DEV` (IPv6: `nodad`)
    public func addressAdd(_ spec: AddressSpec, to link: LinkReference) throws {
        let op = "add address"
        try execute(
            Self.addressAddRequest(spec, index: try index(of: link, operation: op)), operation: op, object: "\(spec.prefix) dev \(link)")
    }
    public func addressAdd(_ prefix: IPPrefix, to link: LinkReference) throws { try addressAdd(AddressSpec(prefix), to: link) }

    /// `ip addr del PREFIX dev DEV`
    public func addressDelete(_ prefix: IPPrefix, from link: LinkReference) throws {
        let op = "delete address"
        try execute(
            Self.addressDeleteRequest(prefix, index: try index(of: link, operation: op)), operation: op, object: "\(prefix) dev \(link)")
    }

    // MARK: pure request builders (tested byte for byte)

    public static func addressDumpRequest(family: IPFamily? = nil) -> NetlinkMessage {
        NetlinkMessage(type: RTM.GETADDR, flags: [], body: IfAddrMessage(family: family?.rawValue ?? AddressFamily.UNSPEC).bytes)
    }

    /// RTM_NEWADDR. Like iproute2: IFA_LOCAL is the address, IFA_ADDRESS the peer (or the
    /// address again); flags go in ifa_flags (low 8 bits) and in full in IFA_FLAGS.
    public static func addressAddRequest(_ spec: AddressSpec, index: Int32) -> NetlinkMessage {
        let address = spec.prefix.address
        let scope = spec.scope ?? (address.isIPv4 && address.bytes[0] == 127 ? .host : .universe)
        let h = IfAddrMessage(
            family: address.family.rawValue, prefixLength: UInt8(spec.prefix.length), flags: UInt8(spec.flags & 0xff),
            scope: scope.rawValue, index: UInt32(bitPattern: index))
        var a = AttributeWriter()
        a.add(IFA.LOCAL, address.bytes)
        a.add(IFA.ADDRESS, (spec.peer ?? address).bytes)
        if let b = spec.broadcast { a.add(IFA.BROADCAST, b.bytes) }
        if let l = spec.label { a.add(IFA.LABEL, string: l) }
        if spec.flags != 0 { a.add(IFA.FLAGS, u32: spec.flags) }
        let flags: NetlinkFlags = spec.replace ? [.create, .replace] : [.create, .exclusive]
        return NetlinkMessage(type: RTM.NEWADDR, flags: flags, body: h.bytes, attributes: a)
    }

    /// RTM_DELADDR: the kernel matches on index, prefix length and IFA_LOCAL.
    public static func addressDeleteRequest(_ prefix: IPPrefix, index: Int32) -> NetlinkMessage {
        let h = IfAddrMessage(family: prefix.address.family.rawValue, prefixLength: UInt8(prefix.length), index: UInt32(bitPattern: index))
        var a = AttributeWriter()
        a.add(IFA.LOCAL, prefix.address.bytes)
        return NetlinkMessage(type: RTM.DELADDR, flags: [], body: h.bytes, attributes: a)
    }
}

/// IFA_F_* names, in the order and spelling `ip -j addr` uses.
enum AddressFlagNames {
    static let table: [(UInt32, String)] = [
        (0x01, "secondary"), (0x02, "nodad"), (0x04, "optimistic"), (0x08, "dadfailed"), (0x10, "home"),
        (0x20, "deprecated"), (0x40, "tentative"), (0x80, "permanent"), (0x100, "mngtmpaddr"),
        (0x200, "noprefixroute"), (0x400, "autojoin"), (0x800, "stable-privacy")
    ]
    static func names(_ flags: UInt32) -> [String] { table.filter { flags & $0.0 != 0 }.map(\.1) }
}
