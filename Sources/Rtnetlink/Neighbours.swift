import NetlinkCodec
import NetlinkSocket
import SandnetCore

/// An ARP (IPv4) or NDP (IPv6) neighbour entry (RTM_NEWNEIGH).
public struct Neighbour: Sendable, Equatable, Codable {
    public var index: Int32
    /// `.inet` (ARP) or `.inet6` (NDP).
    public var family: IPFamily
    /// NDA_DST, the neighbour's IP address.
    public var destination: IPAddress?
    /// NDA_LLADDR; nil while the entry is incomplete or failed.
    public var linkAddress: MACAddress?
    /// `nud permanent`, `reachable`, `stale`, ... (NUD_* bits).
    public var state: NeighbourState
    /// NTF_* bits (`router`, `proxy`, ...).
    public var flags: UInt8

    public init(index: Int32, family: IPFamily, destination: IPAddress?, linkAddress: MACAddress?, state: NeighbourState, flags: UInt8) {
        self.index = index
        self.family = family
        self.destination = destination
        self.linkAddress = linkAddress
        self.state = state
        self.flags = flags
    }

    public var isPermanent: Bool { state.contains(.permanent) }
    public var isRouter: Bool { flags & NTF.ROUTER != 0 }
    /// State names as `ip -j neigh` lists them ("PERMANENT", "REACHABLE", ...).
    public var stateNames: [String] { state.names }
}

extension Neighbour {
    /// Decodes one RTM_NEWNEIGH/RTM_DELNEIGH message; nil for families other than IPv4
    /// and IPv6 (bridge FDB entries, for one).
    public static func decode(_ message: NetlinkMessage) throws -> Neighbour? {
        try message.withAttributes(after: NeighbourMessageHeader.self) { h, attrs in
            // The first of each, as the attribute array's `first(_:)` picked them.
            var destination: IPAddress??
            var linkAddress: MACAddress?
            while let a = try attrs.next() {
                switch a.type {
                case NDA.DST: if destination == nil { destination = .some(IPAddress(bytes: a.payload)) }
                case NDA.LLADDR: if linkAddress == nil { linkAddress = MACAddress(bytes: a.payload) }
                default: break
                }
            }
            guard let family = IPFamily(rawValue: h.family) else { return nil }
            return Neighbour(
                index: h.index, family: family, destination: destination ?? nil, linkAddress: linkAddress,
                state: NeighbourState(rawValue: h.state), flags: h.flags)
        }
    }
}

extension Rtnetlink {
    // MARK: read

    /// `ip neigh show nud all` (IPv4 and IPv6 entries, including NOARP ones; nil family: both).
    public func neighbours(family: IPFamily? = nil) throws -> [Neighbour] {
        let op = "list neighbours"
        return try dumpDecoding(Self.neighbourDumpRequest(family: family), type: RTM.NEWNEIGH, operation: op) { try Neighbour.decode($0) }
    }

    // MARK: write

    /// `ip neigh add ADDR lladdr MAC dev DEV nud permanent` (`ip neigh replace` with `replace`).
    public func neighbourAdd(
        _ address: IPAddress, linkAddress: MACAddress, on link: LinkReference,
        state: NeighbourState = .permanent, replace: Bool = false
    ) throws {
        let op = replace ? "replace neighbour" : "add neighbour"
        try execute(
            Self.neighbourAddRequest(
                address, linkAddress: linkAddress, index: try index(of: link, operation: op), state: state, replace: replace),
            operation: op, object: "\(address) dev \(link)")
    }

    /// `ip neigh del ADDR dev DEV`
    public func neighbourDelete(_ address: IPAddress, on link: LinkReference) throws {
        let op = "delete neighbour"
        try execute(
            Self.neighbourDeleteRequest(address, index: try index(of: link, operation: op)), operation: op, object: "\(address) dev \(link)"
        )
    }

    // MARK: pure request builders (tested byte for byte)

    public static func neighbourDumpRequest(family: IPFamily? = nil) -> NetlinkMessage {
        NetlinkMessage(type: RTM.GETNEIGH, flags: [], body: NeighbourMessageHeader(family: family?.rawValue ?? AddressFamily.UNSPEC).bytes)
    }

    public static func neighbourAddRequest(
        _ address: IPAddress, linkAddress: MACAddress, index: Int32,
        state: NeighbourState = .permanent, replace: Bool = false
    ) -> NetlinkMessage {
        let h = NeighbourMessageHeader(family: address.family.rawValue, index: index, state: state.rawValue)
        var a = AttributeWriter()
        a.add(NDA.DST, address.bytes)
        a.add(NDA.LLADDR, linkAddress.bytes)
        return NetlinkMessage(
            type: RTM.NEWNEIGH, flags: replace ? [.create, .replace] : [.create, .exclusive], body: h.bytes, attributes: a)
    }

    public static func neighbourDeleteRequest(_ address: IPAddress, index: Int32) -> NetlinkMessage {
        var a = AttributeWriter()
        a.add(NDA.DST, address.bytes)
        return NetlinkMessage(
            type: RTM.DELNEIGH, flags: [], body: NeighbourMessageHeader(family: address.family.rawValue, index: index).bytes,
            attributes: a)
    }
}
