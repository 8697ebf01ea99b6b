import ArgumentParser
import NetlinkCodec
import Rtnetlink

/// `sandnet route`: the main routing table (or another), IPv4 and IPv6, like `ip route`.
struct RouteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "route", abstract: "List routes (read-only).")

    @OptionGroup var namespace: NamespaceOptions
    @OptionGroup var output: OutputOptions
    @Option(help: "Routing table: main, local, default, a number, or all.")
    var table = "main"

    func validate() throws {
        if Self.tableID(table) == nil && table != "all" {
            throw ValidationError("--table must be main, local, default, all, or a number; got \"\(table)\"")
        }
    }

    static func tableID(_ text: String) -> RouteTable? {
        switch text {
        case "main": return .main
        case "local": return .local
        case "default": return .default
        default: return UInt32(text).map { RouteTable($0) }
        }
    }

    func run() throws {
        let rt = try Rtnetlink(namespace: try namespace.namespace())
        defer { rt.close() }
        let names = try rt.links().namesByIndex
        let routes = try rt.routes(table: Self.tableID(table))
        if output.json { return try Output.printJSON(routes.map { RouteJSON($0, names: names) }) }
        // One `ip route`-style line per route: operators already read this format.
        for r in routes {
            var words = r.typeName == "unicast" ? [r.destinationText] : [r.typeName, r.destinationText]
            if let g = r.gateway { words += ["via", g.description] }
            if let o = r.outputIndex { words += ["dev", names[o] ?? "if\(o)"] }
            if r.table != .main { words += ["table", r.tableName] }
            words += ["proto", r.protocolName, "scope", r.scopeName]
            if let s = r.preferredSource { words += ["src", s.description] }
            if let p = r.priority { words += ["metric", "\(p)"] }
            if let m = r.metrics.mtu { words += ["mtu", "\(m)"] }
            if r.isOnLink { words.append("onlink") }
            print(words.joined(separator: " "))
        }
    }
}

/// The JSON shape of one route (docs/cli-json.md).
struct RouteJSON: Encodable {
    var family: String
    var destination: String
    var gateway: String?
    var device: String?
    var outputIndex: Int32?
    var preferredSource: String?
    var scope: String
    var `protocol`: String
    var table: UInt32
    var type: String
    var priority: UInt32?
    var metrics: Metrics?
    var flags: [String]

    struct Metrics: Encodable { var mtu, advmss, hoplimit, window, rtt: UInt32? }

    init(_ r: Route, names: [Int32: String]) {
        family = FamilyName.of(r.family)
        destination = r.destinationText
        gateway = r.gateway?.description
        outputIndex = r.outputIndex
        device = r.outputIndex.flatMap { names[$0] }
        preferredSource = r.preferredSource?.description
        scope = r.scopeName
        `protocol` = r.protocolName
        table = r.table.rawValue
        type = r.typeName
        priority = r.priority
        if !r.metrics.isEmpty {
            metrics = Metrics(
                mtu: r.metrics.mtu, advmss: r.metrics.advmss, hoplimit: r.metrics.hoplimit,
                window: r.metrics.window, rtt: r.metrics.rtt)
        }
        flags = r.isOnLink ? ["onlink"] : []
    }
}
