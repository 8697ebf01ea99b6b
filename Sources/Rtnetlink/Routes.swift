import NetlinkCodec
import NetlinkSocket
import SandnetCore

/// A route as the kernel reports it (RTM_NEWROUTE).
public struct Route: Sendable, Equatable, Codable {
    public var family: IPFamily
    /// nil: the default route (dst_len 0).
    public var destination: IPPrefix?
    /// Source-specific routing prefix (RTA_SRC, `from`); rare outside IPv6.
    public var sourcePrefix: IPPrefix?
    public var gateway: IPAddress?
    /// RTA_PREFSRC, `src`: the source address for locally generated packets.
    public var preferredSource: IPAddress?
    /// RTA_OIF, `dev`.
    public var outputIndex: Int32?
    public var inputIndex: Int32?
    public var scope: RouteScope
    /// `proto`: who installed the route (RTPROT_*).
    public var protocolID: RouteProtocol
    /// RTA_TABLE when present (tables above 255 only fit there), else rtm_table.
    public var table: RouteTable
    /// unicast, local, blackhole, ... (RTN_*).
    public var type: RouteType
    /// RTA_PRIORITY, `metric`.
    public var priority: UInt32?
    public var metrics: RouteMetrics
    /// rtm_flags: RTNH_F_ONLINK, RTM_F_CLONED, ...
    public var flags: UInt32
    public var tos: UInt8
    /// IPv6 router preference (RTA_PREF).
    public var preference: UInt8?
    /// Attributes sandnet does not interpret (multipath, encap, ...), by type.
    public var otherAttributeTypes: [UInt16]

    public var isOnLink: Bool { flags & RTNH_F.ONLINK != 0 }
    public var scopeName: String { scope.description }
    public var protocolName: String { protocolID.description }
    public var typeName: String { type.description }
    public var tableName: String { table.description }
    /// `default` or the destination prefix, as `ip route` prints it.
    public var destinationText: String { destination?.description ?? "default" }
}

/// RTA_METRICS children (RTAX_*): the per-route overrides `ip route ... mtu 1400` sets.
public struct RouteMetrics: Sendable, Equatable, Codable {
    public var mtu: UInt32?
    public var window: UInt32?
    public var rtt: UInt32?
    public var advmss: UInt32?
    public var hoplimit: UInt32?
    /// Metrics sandnet does not name, by RTAX_* type.
    public var other: [UInt16: UInt32]
    public init(
        mtu: UInt32? = nil, window: UInt32? = nil, rtt: UInt32? = nil, advmss: UInt32? = nil, hoplimit: UInt32? = nil,
        other: [UInt16: UInt32] = [:]
    ) {
        self.mtu = mtu
        self.window = window
        self.rtt = rtt
        self.advmss = advmss
        self.hoplimit = hoplimit
        self.other = other
    }
    public var isEmpty: Bool { self == RouteMetrics() }
}

/// What to install with `ip route add`.
public struct RouteSpec: Sendable, Equatable {
    /// nil: the default route; its family then comes from the gateway or `family`.
    public var destination: IPPrefix?
    public var gateway: IPAddress?
    public var device: LinkReference?
    public var preferredSource: IPAddress?
    /// nil: what `ip` picks (link scope without a gateway, universe with one, host for local routes).
    public var scope: RouteScope?
    public var protocolID: RouteProtocol
    public var table: RouteTable
    public var type: RouteType
    public var priority: UInt32?
    public var metrics: RouteMetrics
    /// `onlink`: trust that the gateway is on the link even without a matching prefix.
    public var onLink: Bool
    /// Needed only for a default route without a gateway.
    public var family: IPFamily?
    public var replace: Bool

    public init(
        destination: IPPrefix?, gateway: IPAddress? = nil, device: LinkReference? = nil, preferredSource: IPAddress? = nil,
        scope: RouteScope? = nil, protocolID: RouteProtocol = .boot, table: RouteTable = .main, type: RouteType = .unicast,
        priority: UInt32? = nil, metrics: RouteMetrics = RouteMetrics(), onLink: Bool = false, family: IPFamily? = nil,
        replace: Bool = false
    ) {
        self.destination = destination
        self.gateway = gateway
        self.device = device
        self.preferredSource = preferredSource
        self.scope = scope
        self.protocolID = protocolID
        self.table = table
        self.type = type
        self.priority = priority
        self.metrics = metrics
        self.onLink = onLink
        self.family = family
        self.replace = replace
    }

    /// The family the request will carry: from the destination, gateway, source, or `family`.
    public var addressFamily: IPFamily {
        destination?.address.family ?? gateway?.family ?? preferredSource?.family ?? family ?? .inet
    }
    /// iproute2's default: host scope for local routes, link scope for gateway-less unicast.
    var effectiveScope: RouteScope {
        if let scope { return scope }
        switch type {
        case .local: return .host
        case .broadcast, .multicast, .anycast: return .link
        case .unicast, .unspec: return gateway == nil ? .link : .universe
        default: return .universe
        }
    }
}

extension Route {
    /// Decodes one RTM_NEWROUTE/RTM_DELROUTE message. Unknown attributes are kept by type.
    /// nil for families other than IPv4 and IPv6 (multicast routing caches, MPLS).
    public static func decode(_ message: NetlinkMessage) throws -> Route? {
        var previous: [UInt16] = []
        return try decode(message, sharingUnknownTypesWith: &previous)
    }

    /// The same, walking the attributes in place; `previous` as for `Link.decode`.
    static func decode(_ message: NetlinkMessage, sharingUnknownTypesWith previous: inout [UInt16]) throws -> Route? {
        try message.withAttributes(after: RouteMessageHeader.self) { h, attrs in
            guard let family = IPFamily(rawValue: h.family) else { return nil }
            var r = Route(
                family: family, destination: nil, sourcePrefix: nil, gateway: nil, preferredSource: nil,
                outputIndex: nil, inputIndex: nil, scope: RouteScope(rawValue: h.scope),
                protocolID: RouteProtocol(rawValue: h.protocolID), table: RouteTable(UInt32(h.table)),
                type: RouteType(rawValue: h.type), priority: nil, metrics: RouteMetrics(), flags: h.flags, tos: h.tos, preference: nil,
                otherAttributeTypes: [])
            var unknown = UnknownAttributeTypes(previous: previous)
            while let a = try attrs.next() {
                switch a.type {
                case RTA.DST: r.destination = IPAddress(bytes: a.payload).map { IPPrefix(address: $0, length: Int(h.destinationLength)) }
                case RTA.SRC: r.sourcePrefix = IPAddress(bytes: a.payload).map { IPPrefix(address: $0, length: Int(h.sourceLength)) }
                case RTA.GATEWAY: r.gateway = IPAddress(bytes: a.payload)
                case RTA.PREFSRC: r.preferredSource = IPAddress(bytes: a.payload)
                case RTA.OIF: r.outputIndex = try a.i32()
                case RTA.IIF: r.inputIndex = try a.i32()
                case RTA.PRIORITY: r.priority = try a.u32()
                case RTA.TABLE: r.table = RouteTable(try a.u32())
                case RTA.PREF: r.preference = try a.u8()
                case RTA.METRICS:
                    var metrics = try a.nested()
                    while let m = try metrics.next() {
                        let v = try m.u32()
                        switch m.type {
                        case RTAX.MTU: r.metrics.mtu = v
                        case RTAX.WINDOW: r.metrics.window = v
                        case RTAX.RTT: r.metrics.rtt = v
                        case RTAX.ADVMSS: r.metrics.advmss = v
                        case RTAX.HOPLIMIT: r.metrics.hoplimit = v
                        default: r.metrics.other[m.type] = v
                        }
                    }
                case RTA_CACHEINFO: break // counters, not configuration
                default: unknown.append(a.type)
                }
            }
            r.otherAttributeTypes = unknown.finish(updating: &previous)
            // A dump of a family with a zero-length destination still means "default".
            if h.destinationLength == 0 { r.destination = nil }
            return r
        }
    }
}

/// RTA_CACHEINFO (struct rta_cacheinfo): usage counters, skipped.
let RTA_CACHEINFO: UInt16 = 12

extension Rtnetlink {
    // MARK: read

    /// `ip -4 route show [table T]` / `ip -6 route show`; both families with family nil.
    /// `table: nil` lists every table. Cloned (cache) entries are skipped.
    public func routes(family: IPFamily? = nil, table: RouteTable? = .main) throws -> [Route] {
        let op = "list routes"
        var previousUnknownTypes: [UInt16] = []
        // Filtered while decoding: a route left out is never copied into the result.
        return try dumpDecoding(Self.routeDumpRequest(family: family), type: RTM.NEWROUTE, operation: op) {
            guard let r = try Route.decode($0, sharingUnknownTypesWith: &previousUnknownTypes) else { return nil }
            return r.flags & RTM_F.CLONED == 0 && (table == nil || r.table == table) ? r : nil
        }
    }

    // MARK: write

    /// `ip route add DST [via GW] [dev DEV] [src S] [scope S] [proto P] [table T] [metric M] [mtu N] [onlink]`
    public func routeAdd(_ spec: RouteSpec) throws {
        let op = "add route"
        try execute(
            Self.routeAddRequest(spec, outputIndex: try spec.device.map { try index(of: $0, operation: op) }), operation: op,
            object: Self.routeObject(spec))
    }

    /// `ip route del DST [via GW] [dev DEV] [table T] [proto P] [metric M]`: fields left nil match anything.
    public func routeDelete(_ spec: RouteSpec) throws {
        let op = "delete route"
        try execute(
            Self.routeDeleteRequest(spec, outputIndex: try spec.device.map { try index(of: $0, operation: op) }), operation: op,
            object: Self.routeObject(spec))
    }

    static func routeObject(_ spec: RouteSpec) -> String {
        var s = spec.destination?.description ?? "default"
        if let g = spec.gateway { s += " via \(g)" }
        if let d = spec.device { s += " dev \(d)" }
        if spec.table != .main { s += " table \(spec.table)" }
        return s
    }

    // MARK: pure request builders (tested byte for byte)

    public static func routeDumpRequest(family: IPFamily? = nil) -> NetlinkMessage {
        NetlinkMessage(type: RTM.GETROUTE, flags: [], body: RouteMessageHeader(family: family?.rawValue ?? AddressFamily.UNSPEC).bytes)
    }

    /// RTM_NEWROUTE laid out the way iproute2 lays it out: tables above 255 go in RTA_TABLE
    /// with rtm_table = RT_TABLE_UNSPEC, metrics nest under RTA_METRICS.
    public static func routeAddRequest(_ spec: RouteSpec, outputIndex: Int32?) -> NetlinkMessage {
        var h = routeHeader(spec)
        h.protocolID = spec.protocolID.rawValue
        h.scope = spec.effectiveScope.rawValue
        h.type = spec.type.rawValue
        if spec.onLink { h.flags |= RTNH_F.ONLINK }
        let flags: NetlinkFlags = spec.replace ? [.create, .replace] : [.create, .exclusive]
        return NetlinkMessage(type: RTM.NEWROUTE, flags: flags, body: h.bytes, attributes: routeAttributes(spec, outputIndex: outputIndex))
    }

    /// RTM_DELROUTE: scope RT_SCOPE_NOWHERE and protocol/type unspecified, so the kernel
    /// matches on what is given.
    public static func routeDeleteRequest(_ spec: RouteSpec, outputIndex: Int32?) -> NetlinkMessage {
        var h = routeHeader(spec)
        h.scope = (spec.scope ?? .nowhere).rawValue
        var noMetrics = spec
        noMetrics.metrics = RouteMetrics()
        return NetlinkMessage(
            type: RTM.DELROUTE, flags: [], body: h.bytes, attributes: routeAttributes(noMetrics, outputIndex: outputIndex))
    }

    private static func routeHeader(_ spec: RouteSpec) -> RouteMessageHeader {
        var h = RouteMessageHeader(family: spec.addressFamily.rawValue)
        h.destinationLength = UInt8(spec.destination?.length ?? 0)
        h.table = spec.table.rawValue < 256 ? UInt8(spec.table.rawValue) : UInt8(RT_TABLE.UNSPEC)
        return h
    }

    private static func routeAttributes(_ spec: RouteSpec, outputIndex: Int32?) -> AttributeWriter {
        var a = AttributeWriter()
        if spec.table.rawValue >= 256 { a.add(RTA.TABLE, u32: spec.table.rawValue) }
        if let d = spec.destination, d.length > 0 { a.add(RTA.DST, d.address.bytes) }
        if let g = spec.gateway { a.add(RTA.GATEWAY, g.bytes) }
        if let s = spec.preferredSource { a.add(RTA.PREFSRC, s.bytes) }
        if let p = spec.priority { a.add(RTA.PRIORITY, u32: p) }
        if !spec.metrics.isEmpty {
            a.nest(RTA.METRICS) { m in
                if let v = spec.metrics.mtu { m.add(RTAX.MTU, u32: v) }
                if let v = spec.metrics.window { m.add(RTAX.WINDOW, u32: v) }
                if let v = spec.metrics.rtt { m.add(RTAX.RTT, u32: v) }
                if let v = spec.metrics.advmss { m.add(RTAX.ADVMSS, u32: v) }
                if let v = spec.metrics.hoplimit { m.add(RTAX.HOPLIMIT, u32: v) }
                for (t, v) in spec.metrics.other.sorted(by: { $0.key < $1.key }) { m.add(t, u32: v) }
            }
        }
        if let o = outputIndex { a.add(RTA.OIF, i32: o) }
        return a
    }
}
