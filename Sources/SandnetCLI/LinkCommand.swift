import ArgumentParser
import NetlinkCodec
import Rtnetlink

/// `sandnet link`: the links of a namespace, like `ip -br -d link` plus kind, MTU and state.
struct LinkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "link", abstract: "List network interfaces (read-only).")

    @OptionGroup var namespace: NamespaceOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let rt = try Rtnetlink(namespace: try namespace.namespace())
        defer { rt.close() }
        let links = try rt.links().sorted { $0.index < $1.index }
        let names = links.namesByIndex
        if output.json { return try Output.printJSON(links.map { LinkJSON($0, names: names) }) }
        Output.printTable(
            links.map { l in
                let parent = l.parent.flatMap { p in l.linkNetnsID == nil ? names[p] : "if\(p)" }
                return [
                    l.name + (parent.map { "@\($0)" } ?? ""), l.kind ?? (l.isLoopback ? "loopback" : "device"), l.operStateName,
                    l.mtu.map(String.init) ?? "-", l.address?.description ?? "-",
                    [LinkJSON.kindSummary(l), l.master.flatMap { names[$0] }.map { "master \($0)" }]
                        .compactMap { $0 }.joined(separator: " ")
                ]
            }, header: ["NAME", "KIND", "STATE", "MTU", "ADDRESS", "DETAILS"])
    }
}

/// The JSON shape of one link (docs/cli-json.md). Keys are stable; absent means not applicable.
struct LinkJSON: Encodable {
    var index: Int32
    var name: String
    var kind: String?
    var state: String
    var flags: [String]
    var mtu: UInt32?
    var address: String?
    var broadcast: String?
    var master: String?
    var masterIndex: Int32?
    var parent: String?
    var parentIndex: Int32?
    var parentNetnsID: Int32?
    var txQueueLength: UInt32?
    var kindData: KindData?

    struct KindData: Encodable {
        var mode: String?
        var vlanID: UInt16?
        var vlanProtocol: String?
        var vni: UInt32?
        var port: UInt16?
        var group: String?
        var local: String?
        var tunMode: String?
        var persistent: Bool?
        var multiQueue: Bool?
        var vnetHeader: Bool?
    }

    init(_ l: Link, names: [Int32: String]) {
        index = l.index
        name = l.name
        kind = l.kind
        state = l.operStateName
        flags = l.flagNames
        mtu = l.mtu
        address = l.address?.description
        broadcast = l.broadcast?.description
        masterIndex = l.master
        master = l.master.flatMap { names[$0] }
        parentIndex = l.parent
        parentNetnsID = l.linkNetnsID
        if l.linkNetnsID == nil { parent = l.parent.flatMap { names[$0] } }
        txQueueLength = l.txQueueLength
        kindData = Self.kindData(l.kindData)
    }

    static func kindData(_ data: LinkKindData?) -> KindData? {
        var d = KindData()
        switch data {
        case .macvlan(let mode)?, .macvtap(let mode)?: d.mode = mode.rawValue
        case .ipvlan(let mode, _)?: d.mode = mode.rawValue
        case .vlan(let id, let proto)?:
            d.vlanID = id
            d.vlanProtocol = proto == 0x88a8 ? "802.1ad" : "802.1Q"
        case .vxlan(let v)?:
            d.vni = v.vni
            d.port = v.port
            d.group = v.group?.description
            d.local = v.local?.description
        case .tun(let t)?:
            d.tunMode = t.mode?.rawValue
            d.persistent = t.persistent
            d.multiQueue = t.multiQueue
            d.vnetHeader = t.vnetHeader
        default: return nil
        }
        return d
    }

    /// "mode bridge", "id 100", "vni 42", ... for the table's DETAILS column.
    static func kindSummary(_ l: Link) -> String? {
        switch l.kindData {
        case .macvlan(let mode)?, .macvtap(let mode)?: return "mode \(mode.rawValue)"
        case .ipvlan(let mode, _)?: return "mode \(mode.rawValue)"
        case .vlan(let id, _)?: return "id \(id)"
        case .vxlan(let v)?: return "vni \(v.vni)" + (v.port.map { " port \($0)" } ?? "")
        case .tun(let t)?: return t.mode?.rawValue
        default: return nil
        }
    }
}
