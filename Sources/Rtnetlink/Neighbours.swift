import NetlinkCodec
import NetlinkSocket
import SandnetCore

/// An ARP (IPv4) or NDP (IPv6) neighbour entry (RTM_NEWNEIGH).
public struct Neighbour: Sendable, Equatable, Codable {
    public var index: Int32
    public var family: UInt8
    /// NDA_DST, the neighbour's IP address.
    public var destination: IPAddress?
    /// NDA_LLADDR; nil while the entry is incomplete or failed.
    public var linkAddress: MACAddress?
    /// NUD_* bits (`nud permanent`, `reachable`, `stale`, ...).
    public var state: UInt16
    /// NTF_* bits (`router`, `proxy`, ...).
    public var flags: UInt8

    public init(index: Int32, family: UInt8, destination: IPAddress?, linkAddress: MACAddress?, state: UInt16, flags: UInt8) {
        self.index = index; self.family = family; self.destination = destination; self.linkAddress = linkAddress
        self.state = state; self.flags = flags
    }

    public var isPermanent: Bool { state & NUD.PERMANENT != 0 }
    public var isRouter: Bool { flags & NTF.ROUTER != 0 }
    /// State names as `ip -j neigh` lists them ("PERMANENT", "REACHABLE", ...).
    public var stateNames: [String] { NeighbourNames.states(state) }
}

extension Neighbour {
    /// Decodes one RTM_NEWNEIGH/RTM_DELNEIGH message.
    public static func decode(_ message: NetlinkMessage) throws -> Neighbour {
        let (h, attrs) = try NeighbourMessageHeader.decode(message)
        return Neighbour(index: h.index, family: h.family,
                         destination: attrs.first(NDA.DST).flatMap { IPAddress(bytes: $0.payloadSlice) },
                         linkAddress: attrs.first(NDA.LLADDR).map { MACAddress(bytes: $0.payload) },
                         state: h.state, flags: h.flags)
    }
}

extension Rtnetlink {
    // MARK: read

    /// `ip neigh show nud all` (IPv4 and IPv6 entries, including NOARP ones).
    public func neighbours(family: UInt8 = AddressFamily.UNSPEC) throws -> [Neighbour] {
        let op = "list neighbours"
        let all = try decodeAll(try dump(Self.neighbourDumpRequest(family: family), operation: op), type: RTM.NEWNEIGH,
                                operation: op) { try Neighbour.decode($0) }
        return all.filter { $0.family == AddressFamily.INET || $0.family == AddressFamily.INET6 }
    }

    // MARK: write

    /// `ip neigh add ADDR lladdr MAC dev DEV nud permanent` (`ip neigh replace` with `replace`).
    public func neighbourAdd(_ address: IPAddress, linkAddress: MACAddress, on link: LinkReference,
                             state: UInt16 = NUD.PERMANENT, replace: Bool = false) throws {
        let op = replace ? "replace neighbour" : "add neighbour"
        try execute(Self.neighbourAddRequest(address, linkAddress: linkAddress, index: try index(of: link, operation: op), state: state, replace: replace),
                    operation: op, object: "\(address) dev \(link)")
    }

    /// `ip neigh del ADDR dev DEV`
    public func neighbourDelete(_ address: IPAddress, on link: LinkReference) throws {
        let op = "delete neighbour"
        try execute(Self.neighbourDeleteRequest(address, index: try index(of: link, operation: op)), operation: op, object: "\(address) dev \(link)")
    }

    // MARK: pure request builders (tested byte for byte)

    public static func neighbourDumpRequest(family: UInt8 = AddressFamily.UNSPEC) -> NetlinkMessage {
        NetlinkMessage(type: RTM.GETNEIGH, flags: [], body: NeighbourMessageHeader(family: family).bytes)
    }

    public static func neighbourAddRequest(_ address: IPAddress, linkAddress: MACAddress, index: Int32,
                                           state: UInt16 = NUD.PERMANENT, replace: Bool = false) -> NetlinkMessage {
        let h = NeighbourMessageHeader(family: address.family, index: index, state: state)
        var a = AttributeWriter()
        a.add(NDA.DST, address.bytes)
        a.add(NDA.LLADDR, linkAddress.bytes)
        return NetlinkMessage(type: RTM.NEWNEIGH, flags: replace ? [.create, .replace] : [.create, .exclusive], body: h.bytes, attributes: a)
    }

    public static func neighbourDeleteRequest(_ address: IPAddress, index: Int32) -> NetlinkMessage {
        var a = AttributeWriter()
        a.add(NDA.DST, address.bytes)
        return NetlinkMessage(type: RTM.DELNEIGH, flags: [], body: NeighbourMessageHeader(family: address.family, index: index).bytes,
                              attributes: a)
    }
}

enum NeighbourNames {
    static let table: [(UInt16, String)] = [
        (NUD.INCOMPLETE, "INCOMPLETE"), (NUD.REACHABLE, "REACHABLE"), (NUD.STALE, "STALE"), (NUD.DELAY, "DELAY"),
        (NUD.PROBE, "PROBE"), (NUD.FAILED, "FAILED"), (NUD.NOARP, "NOARP"), (NUD.PERMANENT, "PERMANENT"),
    ]
    static func states(_ s: UInt16) -> [String] { s == 0 ? ["NONE"] : table.filter { s & $0.0 != 0 }.map(\.1) }
}
