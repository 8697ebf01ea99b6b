import NetlinkCodec

/// The state bits of a neighbour entry (NUD_*: `nud permanent`, `reachable`, `stale`, ...).
/// An option set, as in the kernel; bits sandnet does not name still round-trip.
/// Codable as the kernel's number.
public struct NeighbourState: OptionSet, Hashable, Sendable, Codable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let incomplete = NeighbourState(rawValue: NUD.INCOMPLETE)
    public static let reachable = NeighbourState(rawValue: NUD.REACHABLE)
    public static let stale = NeighbourState(rawValue: NUD.STALE)
    public static let delay = NeighbourState(rawValue: NUD.DELAY)
    public static let probe = NeighbourState(rawValue: NUD.PROBE)
    public static let failed = NeighbourState(rawValue: NUD.FAILED)
    /// No link-layer address needed (loopback, point-to-point).
    public static let noARP = NeighbourState(rawValue: NUD.NOARP)
    /// Set by hand and never expires: what `ip neigh add ... nud permanent` makes.
    public static let permanent = NeighbourState(rawValue: NUD.PERMANENT)

    static let named: [(NeighbourState, String)] = [
        (.incomplete, "INCOMPLETE"), (.reachable, "REACHABLE"), (.stale, "STALE"), (.delay, "DELAY"),
        (.probe, "PROBE"), (.failed, "FAILED"), (.noARP, "NOARP"), (.permanent, "PERMANENT")
    ]

    /// State names as `ip -j neigh` lists them ("PERMANENT", "REACHABLE", ...; "NONE" for no bits).
    public var names: [String] { isEmpty ? ["NONE"] : Self.named.filter { contains($0.0) }.map(\.1) }
    public var description: String { names.joined(separator: ",") }
}
