/// The family of an IP address: the kernel's AF_INET and AF_INET6. A closed set: every
/// address, route and neighbour sandnet hands out is one or the other.
/// Codable as the kernel's number (2, 10), which is what the journal has always stored.
public enum IPFamily: UInt8, Hashable, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case inet = 2
    case inet6 = 10

    /// "inet" or "inet6", as `ip -j` spells the family.
    public var description: String { self == .inet ? "inet" : "inet6" }
}
