import NetlinkCodec

/// A tc handle: a 16-bit major and 16-bit minor packed in a u32, written the way tc
/// writes them (`1:10`, `ffff:`, hexadecimal, `root`).
public struct TcHandle: Hashable, Sendable, Codable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(major: UInt16, minor: UInt16) { rawValue = UInt32(major) << 16 | UInt32(minor) }

    public var major: UInt16 { UInt16(rawValue >> 16) }
    public var minor: UInt16 { UInt16(rawValue & 0xffff) }

    public static let unspecified = TcHandle(rawValue: TC_H.UNSPEC)
    /// Parent of a device's root qdisc (`root`).
    public static let root = TcHandle(rawValue: TC_H.ROOT)
    /// Parent of the ingress and clsact qdiscs (`ffff:fff1`).
    public static let ingressParent = TcHandle(rawValue: TC_H.INGRESS)
    /// Handle of the ingress/clsact qdisc itself, and the parent of ingress-qdisc filters (`ffff:`).
    public static let ingressQdisc = TcHandle(major: 0xffff, minor: 0)
    /// clsact's ingress and egress hooks, the parents of its filters (`tc filter add ... ingress|egress`).
    public static let clsactIngress = TcHandle(rawValue: TC_H.MAKE(TC_H.CLSACT, TC_H.MIN_INGRESS))
    public static let clsactEgress = TcHandle(rawValue: TC_H.MAKE(TC_H.CLSACT, TC_H.MIN_EGRESS))

    /// Parses `root`, `ingress`, `egress`, `none`, `MAJ:`, `MAJ:MIN`, `:MIN` (hex, as tc does).
    public init?(_ text: String) {
        switch text {
        case "root":
            self = .root
            return
        case "ingress":
            self = .clsactIngress
            return
        case "egress":
            self = .clsactEgress
            return
        case "none":
            self = .unspecified
            return
        default: break
        }
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        func hex(_ s: Substring) -> UInt16? { s.isEmpty ? 0 : UInt16(s, radix: 16) }
        guard let maj = hex(parts[0]), let min = hex(parts[1]) else { return nil }
        self.init(major: maj, minor: min)
    }

    /// tc's spelling: `root`, `ffff:`, `1:10`, `ffff:fff1`, `0:` (unspecified).
    public var description: String {
        if rawValue == TC_H.ROOT { return "root" }
        let maj = String(major, radix: 16)
        return minor == 0 ? "\(maj):" : "\(maj):\(String(minor, radix: 16))"
    }

    public init(from decoder: Decoder) throws {
        let s = try decoder.singleValueContainer().decode(String.self)
        guard let h = TcHandle(s) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "bad tc handle \(s)"))
        }
        self = h
    }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

/// Protocol names as tc prints them (`all`, `ip`, `ipv6`, `arp`, `802.1Q`), host order values.
public enum EthernetProtocol {
    public static func name(_ p: UInt16) -> String {
        switch p {
        case ETH_P.ALL: return "all"
        case ETH_P.IP: return "ip"
        case ETH_P.IPV6: return "ipv6"
        case ETH_P.ARP: return "arp"
        case ETH_P.P_8021Q: return "802.1Q"
        case 0: return "unspec"
        default: return "0x" + String(p, radix: 16)
        }
    }
    public static func value(_ name: String) -> UInt16? {
        switch name {
        case "all": return ETH_P.ALL
        case "ip": return ETH_P.IP
        case "ipv6": return ETH_P.IPV6
        case "arp": return ETH_P.ARP
        case "802.1Q", "802.1q": return ETH_P.P_8021Q
        default: return name.hasPrefix("0x") ? UInt16(name.dropFirst(2), radix: 16) : UInt16(name)
        }
    }
}
