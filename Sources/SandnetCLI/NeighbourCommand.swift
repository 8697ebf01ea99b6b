import ArgumentParser
import NetlinkCodec
import Rtnetlink

/// `sandnet neigh`: ARP and NDP entries, like `ip neigh show nud all`.
struct NeighbourCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "neigh", abstract: "List ARP/NDP neighbour entries (read-only).", aliases: ["neighbour", "neighbor"])

    @OptionGroup var namespace: NamespaceOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let rt = try Rtnetlink(namespace: try namespace.namespace())
        defer { rt.close() }
        let names = try rt.links().namesByIndex
        let neighbours = try rt.neighbours()
        if output.json { return try Output.printJSON(neighbours.map { NeighbourJSON($0, device: names[$0.index]) }) }
        Output.printTable(
            neighbours.map { n in
                [
                    n.destination?.description ?? "-", names[n.index] ?? "if\(n.index)", n.linkAddress?.description ?? "-",
                    n.stateNames.joined(separator: ",") + (n.isRouter ? " router" : "")
                ]
            }, header: ["ADDRESS", "DEVICE", "LLADDR", "STATE"])
    }
}

/// The JSON shape of one neighbour entry (docs/cli-json.md).
struct NeighbourJSON: Encodable {
    var family: String
    var destination: String?
    var index: Int32
    var device: String?
    var linkAddress: String?
    var state: [String]
    var router: Bool

    init(_ n: Neighbour, device: String?) {
        family = FamilyName.of(n.family)
        destination = n.destination?.description
        index = n.index
        self.device = device
        linkAddress = n.linkAddress?.description
        state = n.stateNames
        router = n.isRouter
    }
}
