import NetlinkCodec

/// How far a route or an address reaches (RT_SCOPE_*; ifa_scope uses the same numbers).
/// An open set: the kernel accepts any number 0...255 and a value sandnet does not name
/// still round-trips. Codable as the kernel's number.
public struct RouteScope: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// `global` in `ip` output.
    public static let universe = RouteScope(rawValue: RT_SCOPE.UNIVERSE)
    public static let site = RouteScope(rawValue: RT_SCOPE.SITE)
    public static let link = RouteScope(rawValue: RT_SCOPE.LINK)
    public static let host = RouteScope(rawValue: RT_SCOPE.HOST)
    public static let nowhere = RouteScope(rawValue: RT_SCOPE.NOWHERE)

    /// "global", "link", "host", ... as `ip` prints scopes (/etc/iproute2/rt_scopes), else the number.
    public var description: String {
        switch self {
        case .universe: return "global"
        case .site: return "site"
        case .link: return "link"
        case .host: return "host"
        case .nowhere: return "nowhere"
        default: return "\(rawValue)"
        }
    }
}
