import ArgumentParser
import SandboxNetwork

/// `sandnet scan --netns NS`: what an attach would see. Read-only, NETLINK_ROUTE only.
struct ScanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scan", abstract: "Classify every link of a pod's namespace and list its endpoints (read-only).")

    @OptionGroup var namespace: NamespaceOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let scan = try Discovery.scan(try namespace.namespace() ?? .current)
        if output.json { return try Output.printJSON(ScanJSON(scan)) }
        Output.printTable(
            scan.links.map { l in
                [
                    l.name, l.linkClass.rawValue, l.isEndpoint ? "yes" : "no", "\(l.mtu)", l.mac?.description ?? "-",
                    l.addresses.map(\.prefix.description).joined(separator: ","), l.reason ?? Self.lowerNote(l)
                ]
            }, header: ["NAME", "CLASS", "ENDPOINT", "MTU", "MAC", "ADDRESSES", "NOTE"])
        print("\(scan.endpointCount) endpoint(s): PCIe root ports needed: \(scan.endpointCount)")
        for e in scan.endpoints {
            for r in e.routes where !r.isKernelMade {
                print(
                    "  route \(r.destination?.description ?? "default")\(r.gateway.map { " via \($0)" } ?? "") dev \(e.name)\(r.mtu.map { " mtu \($0)" } ?? "")\(r.table == .main ? "" : " table \(r.table)")"
                )
            }
            for n in e.neighbours { print("  neigh \(n.address) lladdr \(n.mac) dev \(e.name)\(n.permanent ? " permanent" : "")") }
        }
    }
}

extension ScanCommand {
    /// "vlan 100 on veth0", "on eth0": where a stacked endpoint sits.
    static func lowerNote(_ l: ScannedLink) -> String {
        guard let lower = l.lower else { return "" }
        return (l.vlanID.map { "vlan \($0) " } ?? "") + "on \(lower)"
    }
}

struct ScanJSON: Encodable {
    var namespace: String
    var endpointCount: Int
    var links: [ScannedLink]
    init(_ s: NamespaceScan) {
        namespace = s.namespace
        endpointCount = s.endpointCount
        links = s.links
    }
}
