import ArgumentParser
import NetlinkCodec
import Rtnetlink
import SandnetCore

/// `sandnet addr`: IP addresses per interface, like `ip -br addr`.
struct AddressCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "addr", abstract: "List IP addresses (read-only).", aliases: ["address"])

    @OptionGroup var namespace: NamespaceOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let rt = try Rtnetlink(namespace: try namespace.namespace())
        defer { rt.close() }
        let links = try rt.links().sorted { $0.index < $1.index }
        let addresses = try rt.addresses()
        if output.json {
            let names = links.namesByIndex
            return try Output.printJSON(addresses.map { AddressJSON($0, device: names[$0.index]) })
        }
        Output.printTable(
            links.map { l in
                [l.name, l.operStateName, addresses.filter { $0.index == l.index }.map(\.prefix.description).joined(separator: " ")]
            }, header: ["NAME", "STATE", "ADDRESSES"])
    }
}

/// The JSON shape of one address (docs/cli-json.md).
struct AddressJSON: Encodable {
    var index: Int32
    var device: String?
    var family: String
    var address: String
    var prefixLength: Int
    var peer: String?
    var broadcast: String?
    var scope: String
    var flags: [String]
    var label: String?
    var validLifetime: UInt32?
    var preferredLifetime: UInt32?

    init(_ a: Address, device: String?) {
        index = a.index
        self.device = device
        family = FamilyName.of(a.family)
        address = a.prefix.address.description
        prefixLength = a.prefix.length
        peer = a.peer?.description
        broadcast = a.broadcast?.description
        scope = a.scopeName
        flags = a.flagNames
        label = a.label
        validLifetime = a.validLifetime
        preferredLifetime = a.preferredLifetime
    }
}

enum FamilyName {
    static func of(_ f: IPFamily) -> String { f.description }
}
