import NetlinkCodec

extension Link {
    /// IFF_* flag names, spelled as `ip -j link` spells them.
    public var flagNames: [String] { LinkFlagNames.names(flags) }

    /// "ether", "loopback", "none", ... as `ip -j -d link` prints link_type.
    public var linkTypeName: String {
        switch linkType {
        case ARPHRD.ETHER: return "ether"
        case ARPHRD.LOOPBACK: return "loopback"
        case ARPHRD.NONE: return "none"
        case ARPHRD.VOID: return "void"
        default: return "\(linkType)"
        }
    }
}

enum LinkFlagNames {
    static let table: [(UInt32, String)] = [
        (0x1, "UP"), (0x2, "BROADCAST"), (0x4, "DEBUG"), (0x8, "LOOPBACK"), (0x10, "POINTOPOINT"), (0x20, "NOTRAILERS"),
        (0x80, "NOARP"), (0x100, "PROMISC"), (0x200, "ALLMULTI"), (0x400, "MASTER"), (0x800, "SLAVE"),
        (0x1000, "MULTICAST"), (0x2000, "PORTSEL"), (0x4000, "AUTOMEDIA"), (0x8000, "DYNAMIC"), (0x10000, "LOWER_UP"),
        (0x20000, "DORMANT"), (0x40000, "ECHO")
    ]
    static func names(_ flags: UInt32) -> [String] { table.filter { flags & $0.0 != 0 }.map(\.1) }
}

extension Array where Element == Link {
    /// Interface names by ifindex, to print indexes by name the way `ip` does.
    public var namesByIndex: [Int32: String] {
        Dictionary(map { ($0.index, $0.name) }, uniquingKeysWith: { first, _ in first })
    }
}
