import ArgumentParser
import NetlinkCodec
import Rtnetlink
import TrafficControl

/// `sandnet qdisc`: queueing disciplines (and htb classes), like `tc -d qdisc|class show`.
struct QdiscCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "qdisc", abstract: "List qdiscs, or with --classes their classes (read-only).")

    @OptionGroup var namespace: NamespaceOptions
    @OptionGroup var output: OutputOptions
    @Option(help: "Only this device.") var dev: String?
    @Flag(help: "List classes (htb rates) instead of qdiscs.") var classes = false

    func run() throws {
        let rt = try Rtnetlink(namespace: try namespace.namespace())
        defer { rt.close() }
        let names = try rt.links().namesByIndex
        let device = dev.map(LinkReference.name)
        if classes {
            let devices: [LinkReference] = device.map { [$0] } ?? names.keys.sorted().map { .index($0) }
            let all = try devices.flatMap { try rt.classes(device: $0) }
            if output.json { return try Output.printJSON(all.map { ClassJSON($0, device: names[$0.index]) }) }
            return Output.printTable(
                all.map { c in
                    [
                        names[c.index] ?? "if\(c.index)", c.kind, c.classID.description, c.parent.description,
                        c.htb.map { "rate \($0.rateBits)bit ceil \($0.ceilBits)bit burst \($0.burstBytes)b prio \($0.priority)" } ?? ""
                    ]
                }, header: ["DEVICE", "KIND", "CLASSID", "PARENT", "DETAILS"])
        }
        let qdiscs = try rt.qdiscs(device: device)
        if output.json { return try Output.printJSON(qdiscs.map { QdiscJSON($0, device: names[$0.index]) }) }
        Output.printTable(
            qdiscs.map { q in
                [
                    names[q.index] ?? "if\(q.index)", q.kind, q.handle.description, q.parent.description,
                    q.htb.map { "default 0x\(String($0.defaultClass, radix: 16)) r2q \($0.rateToQuantum)" } ?? ""
                ]
            }, header: ["DEVICE", "KIND", "HANDLE", "PARENT", "DETAILS"])
    }
}

/// The JSON shape of one qdisc. Handles are in tc's spelling (`ffff:`, `1:`, `root`).
struct QdiscJSON: Encodable {
    var device: String?
    var index: Int32
    var kind: String
    var handle: String
    var parent: String
    var root: Bool
    var referenceCount: UInt32
    var htb: Htb?
    struct Htb: Encodable {
        var version: String, rateToQuantum: UInt32, defaultClass: String, directPackets: UInt32, directQueueLength: UInt32?
    }
    init(_ q: Qdisc, device: String?) {
        self.device = device
        index = q.index
        kind = q.kind
        handle = q.handle.description
        parent = q.parent.description
        root = q.isRoot
        referenceCount = q.referenceCount
        htb = q.htb.map {
            Htb(
                version: $0.versionText, rateToQuantum: $0.rateToQuantum, defaultClass: "0x" + String($0.defaultClass, radix: 16),
                directPackets: $0.directPackets, directQueueLength: $0.directQueueLength)
        }
    }
}

/// The JSON shape of one class; rates in bits per second, bursts in bytes.
struct ClassJSON: Encodable {
    var device: String?
    var index: Int32
    var kind: String
    var classID: String
    var parent: String
    var leaf: String
    var htb: Htb?
    struct Htb: Encodable {
        var rate: UInt64, ceil: UInt64, burst: UInt64, cburst: UInt64, priority: UInt32, quantum: UInt32, level: UInt32
    }
    init(_ c: TrafficClass, device: String?) {
        self.device = device
        index = c.index
        kind = c.kind
        classID = c.classID.description
        parent = c.parent.description
        leaf = c.leaf.description
        htb = c.htb.map {
            Htb(
                rate: $0.rateBits, ceil: $0.ceilBits, burst: $0.burstBytes, cburst: $0.cburstBytes,
                priority: $0.priority, quantum: $0.quantum, level: $0.level)
        }
    }
}
