import NetlinkCodec

/// A routing table (RT_TABLE_*, or any number up to 2^32-1 for policy routing). An open
/// set: write `RouteTable(100)` or just `100` for a numbered table. Codable as the number.
public struct RouteTable: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible, ExpressibleByIntegerLiteral {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(_ number: UInt32) { rawValue = number }
    public init(integerLiteral value: UInt32) { rawValue = value }

    public static let unspec = RouteTable(rawValue: RT_TABLE.UNSPEC)
    public static let `default` = RouteTable(rawValue: RT_TABLE.DEFAULT)
    /// Where `ip route add` puts routes unless told otherwise.
    public static let main = RouteTable(rawValue: RT_TABLE.MAIN)
    /// The kernel's table of local and broadcast addresses.
    public static let local = RouteTable(rawValue: RT_TABLE.LOCAL)

    /// "main", "local", "default" as `ip` prints them (/etc/iproute2/rt_tables), else the number.
    public var description: String {
        switch self {
        case .default: return "default"
        case .main: return "main"
        case .local: return "local"
        default: return "\(rawValue)"
        }
    }
}
