import NetlinkCodec

/// What a route does with a packet (RTN_*: unicast, local, blackhole, ...). An open set
/// as far as this API is concerned: any value round-trips. Codable as the kernel's number.
public struct RouteType: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let unspec = RouteType(rawValue: RTN.UNSPEC)
    /// An ordinary route to a gateway or a directly connected network.
    public static let unicast = RouteType(rawValue: RTN.UNICAST)
    /// An address of this host (the local table).
    public static let local = RouteType(rawValue: RTN.LOCAL)
    public static let broadcast = RouteType(rawValue: RTN.BROADCAST)
    public static let anycast = RouteType(rawValue: RTN.ANYCAST)
    public static let multicast = RouteType(rawValue: RTN.MULTICAST)
    /// Drops packets silently.
    public static let blackhole = RouteType(rawValue: RTN.BLACKHOLE)
    /// Drops packets with ICMP host unreachable.
    public static let unreachable = RouteType(rawValue: RTN.UNREACHABLE)
    /// Drops packets with ICMP administratively prohibited.
    public static let prohibit = RouteType(rawValue: RTN.PROHIBIT)

    /// The name `ip` prints ("unicast", "blackhole", ...), else the number.
    public var description: String {
        let names = [
            "unspec", "unicast", "local", "broadcast", "anycast", "multicast", "blackhole", "unreachable",
            "prohibit", "throw", "nat", "xresolve"
        ]
        return Int(rawValue) < names.count ? names[Int(rawValue)] : "\(rawValue)"
    }
}
