import Foundation
import NetlinkCodec
import SandboxNetwork
import SandnetCore
import Testing

@Suite struct GuestDescriptionTests {
    func sample() -> GuestDescription {
        GuestDescription(
            sandbox: "pod-1",
            interfaces: [
                GuestInterface(
                    name: "eth0", mac: MACAddress("02:00:00:00:00:01")!, mtu: 1450,
                    addresses: [IPPrefix("198.51.100.2/24")!, IPPrefix("2001:db8::2/64")!],
                    routes: [
                        GuestRoute(destination: "default", family: "inet", gateway: IPAddress("198.51.100.1"), scope: "universe", mtu: 1400)
                    ],
                    neighbours: [GuestNeighbour(address: IPAddress("198.51.100.1")!, mac: MACAddress("02:00:00:00:00:fe")!)],
                    pciRootPort: "sn-rp0", pciRootPortAddress: "00:10.0", pciSlot: "00.0", model: "tcfilter")
            ], dns: ["nameserver 198.51.100.53"])
    }

    @Test func emitsOneScalarPerLineWithSortedKeysAndUnescapedSlashes() throws {
        let text = String(decoding: try sample().encoded(), as: UTF8.self)
        #expect(text.contains("\"198.51.100.2/24\""))
        #expect(!text.contains("\\/"))
        #expect(text.contains("\"pci_root_port_address\" : \"00:10.0\""))
        #expect(text.contains("\"version\" : 1"))
        // sorted keys: addresses < mac < model < mtu < name < neighbours < pci_* < routes
        let keys = ["\"addresses\"", "\"mac\"", "\"model\"", "\"mtu\"", "\"name\"", "\"neighbours\"", "\"pci_root_port\"", "\"routes\""]
        let positions = keys.map { text.range(of: $0)!.lowerBound }
        #expect(positions == positions.sorted())
        // Every line holds at most one key.
        #expect(text.split(separator: "\n").allSatisfy { $0.components(separatedBy: "\" : ").count <= 2 })
    }

    @Test func roundTripsAndRefusesUnknownVersions() throws {
        let d = sample()
        #expect(try GuestDescription.decode(d.encoded()) == d)
        var future = try JSONSerialization.jsonObject(with: d.encoded()) as! [String: Any]
        future["version"] = 2
        #expect(throws: GuestDescriptionError.unsupportedVersion(2)) {
            try GuestDescription.decode(try JSONSerialization.data(withJSONObject: future))
        }
    }

    @Test func dnsLinesKeepOnlyResolverDirectives() {
        let conf = """
            # generated
            nameserver 198.51.100.53   # primary
            nameserver  2001:db8::53
            search example.test  corp.test
            options ndots:2
            sortlist 198.51.100.0/255.255.255.0
            ; comment

            """
        #expect(
            GuestDescription.dnsLines(fromResolvConf: conf) == [
                "nameserver 198.51.100.53", "nameserver 2001:db8::53", "search example.test corp.test", "options ndots:2"
            ])
    }
}
