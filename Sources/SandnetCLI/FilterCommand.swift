import ArgumentParser
import NetlinkCodec
import Rtnetlink
import TrafficControl

/// `sandnet filter`: tc filters and their actions on every hook of every qdisc, like
/// `tc -d filter show dev DEV` for each device.
struct FilterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "filter", abstract: "List tc filters and their actions (read-only).")

    @OptionGroup var namespace: NamespaceOptions
    @OptionGroup var output: OutputOptions
    @Option(help: "Only this device.") var dev: String?

    func run() throws {
        let rt = try Rtnetlink(namespace: try namespace.namespace())
        defer { rt.close() }
        let names = try rt.links().namesByIndex
        let devices: [LinkReference] = dev.map { [.name($0)] } ?? names.keys.sorted().map { .index($0) }
        // A u32 priority is announced by bare entries (the priority, each hash table); show the nodes.
        let filters = try devices.flatMap { try rt.filters(device: $0) }.filter {
            $0.hasOptions && ($0.kind != "u32" || $0.u32?.selector != nil)
        }
        if output.json { return try Output.printJSON(filters.map { FilterJSON($0, names: names) }) }
        Output.printTable(
            filters.map { f in
                let json = FilterJSON(f, names: names)
                let match = json.u32?.keys.map { "\($0.value)/\($0.mask)@\($0.offset)" }.joined(separator: " ") ?? ""
                let actions = json.actions.map { a in
                    a.mirred.map { "mirred \($0.direction) \($0.mode) \($0.target ?? "if\($0.targetIndex)") \(a.result)" }
                        ?? "\(a.kind) \(a.result)"
                }.joined(separator: ", ")
                return [json.device ?? "if\(f.index)", json.parent, "\(f.priority)", json.protocolName, f.kind, json.handle, match, actions]
            }, header: ["DEVICE", "PARENT", "PREF", "PROTO", "KIND", "HANDLE", "MATCH", "ACTIONS"])
    }
}

/// The JSON shape of one filter. u32 key values and masks are hex, as tc prints them.
struct FilterJSON: Encodable {
    var device: String?
    var index: Int32
    var parent: String
    var kind: String
    var priority: UInt16
    var protocolName: String
    var chain: UInt32?
    var handle: String
    var classID: String?
    var flags: [String]
    var u32: U32?
    var actions: [Action]

    struct U32: Encodable {
        var terminal: Bool
        var keyHashTable: String?
        var bucket: String?
        var divisor: UInt32?
        var keys: [Key]
    }
    struct Key: Encodable { var value: String, mask: String, offset: Int32 }
    struct Action: Encodable {
        var order: UInt16, kind: String, result: String, index: UInt32, references: Int32, bindings: Int32
        var mirred: Mirred?
    }
    struct Mirred: Encodable { var mode: String, direction: String, target: String?, targetIndex: Int32 }

    init(_ f: Filter, names: [Int32: String]) {
        device = names[f.index]
        index = f.index
        parent = f.parent.description
        kind = f.kind
        priority = f.priority
        protocolName = f.protocolName
        chain = f.chain
        classID = f.classID?.description
        handle = f.kind == "u32" ? U32Info.handleText(f.handle) : "0x" + String(f.handle, radix: 16)
        let bits: [(UInt32, String)] = [
            (TCA_CLS_FLAGS.SKIP_HW, "skip_hw"), (TCA_CLS_FLAGS.SKIP_SW, "skip_sw"),
            (TCA_CLS_FLAGS.IN_HW, "in_hw"), (TCA_CLS_FLAGS.NOT_IN_HW, "not_in_hw")
        ]
        flags = bits.filter { (f.flags ?? 0) & $0.0 != 0 }.map(\.1)
        u32 = f.u32.map { u in
            U32(
                terminal: u.selector?.terminal ?? false, keyHashTable: u.keyHashTable.map { String($0, radix: 16) },
                bucket: u.bucket.map { String($0, radix: 16) }, divisor: u.divisor,
                keys: (u.selector?.keys ?? []).map {
                    Key(value: String($0.value, radix: 16), mask: String($0.mask, radix: 16), offset: $0.offset)
                })
        }
        actions = f.actions.map { a in
            var out = Action(
                order: a.order, kind: a.action.kindName, result: "", index: a.index, references: a.references, bindings: a.bindings)
            switch a.action {
            case .mirred(let m):
                out.result = m.result.description
                out.mirred = Mirred(
                    mode: m.mode.rawValue, direction: m.direction.rawValue, target: names[m.targetIndex], targetIndex: m.targetIndex)
            case .gact(let r): out.result = r.description
            case .other: break
            }
            return out
        }
    }
}
