import NetlinkCodec

/// Who installed a route (RTPROT_*, `proto` in `ip route`). An open set: routing daemons
/// register their own numbers, and any value round-trips. Codable as the kernel's number.
public struct RouteProtocol: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let unspec = RouteProtocol(rawValue: RTPROT.UNSPEC)
    /// Installed by an ICMP redirect.
    public static let redirect = RouteProtocol(rawValue: RTPROT.REDIRECT)
    /// Made by the kernel itself (for an address's prefix, a link coming up).
    public static let kernel = RouteProtocol(rawValue: RTPROT.KERNEL)
    /// Installed at boot or by hand: what `ip route add` uses by default.
    public static let boot = RouteProtocol(rawValue: RTPROT.BOOT)
    public static let `static` = RouteProtocol(rawValue: RTPROT.STATIC)
    /// Learnt from an IPv6 router advertisement.
    public static let ra = RouteProtocol(rawValue: RTPROT.RA)
    public static let dhcp = RouteProtocol(rawValue: RTPROT.DHCP)

    /// The name `ip` prints (/etc/iproute2/rt_protos), else the number.
    public var description: String {
        switch rawValue {
        case RTPROT.UNSPEC: return "unspec"
        case RTPROT.REDIRECT: return "redirect"
        case RTPROT.KERNEL: return "kernel"
        case RTPROT.BOOT: return "boot"
        case RTPROT.STATIC: return "static"
        case RTPROT.RA: return "ra"
        case RTPROT.DHCP: return "dhcp"
        // The RTPROT_* values routing daemons register in <linux/rtnetlink.h>.
        case 8: return "gated"
        case 10: return "mrt"
        case 11: return "zebra"
        case 12: return "bird"
        case 13: return "dnrouted"
        case 14: return "xorp"
        case 15: return "ntk"
        case 17: return "mrouted"
        case 18: return "keepalived"
        case 42: return "babel"
        case 99: return "openr"
        case 186: return "bgp"
        case 187: return "isis"
        case 188: return "ospf"
        case 189: return "rip"
        case 192: return "eigrp"
        default: return "\(rawValue)"
        }
    }
}
