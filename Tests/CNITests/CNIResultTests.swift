import CNI
import Foundation
import Testing

@Suite struct CNIResultTests {
    let sample = """
        {"cniVersion":"1.0.0",
         "interfaces":[{"name":"sn-br0","mac":"de:72:c0:57:8c:24"},{"name":"veth9fb6b073","mac":"fe:2f:a4:6a:05:83"},
                       {"name":"eth0","mac":"6a:86:fd:5e:e0:0c","sandbox":"/run/netns/pod"}],
         "ips":[{"interface":2,"address":"203.0.113.2/24","gateway":"203.0.113.1"}],
         "routes":[{"dst":"0.0.0.0/0"}],
         "dns":{"nameservers":["203.0.113.53"],"search":["example.test"]}}
        """

    @Test func parsesEveryField() throws {
        let r = try CNIResult.parse(Data(sample.utf8))
        #expect(r.cniVersion == "1.0.0")
        #expect(r.interfaces.map(\.name) == ["sn-br0", "veth9fb6b073", "eth0"])
        #expect(r.containerInterface(named: "eth0")?.sandbox == "/run/netns/pod")
        #expect(r.containerInterface(named: "sn-br0") == nil)
        #expect(r.addresses(on: "eth0") == [CIDRAddress("203.0.113.2/24")!])
        #expect(r.ips.first?.gateway == "203.0.113.1")
        #expect(r.routes.first?.destination == CIDRAddress("0.0.0.0/0"))
        #expect(r.routes.first?.gateway == nil)
        #expect(r.dns.nameservers == ["203.0.113.53"])
        #expect(r.dns.search == ["example.test"])
    }

    @Test(arguments: [
        (#""interface":2"#, #""interface":3"#, "ips[0].interface 3 is not an index"),
        (#""cniVersion":"1.0.0""#, #""cniVersion":"0.4.0""#, "cniVersion is 0.4.0"),
        (#""203.0.113.2/24""#, #""203.0.113.2""#, "not an address with prefix"),
        (#""dst":"0.0.0.0/0""#, #""dst":"nowhere""#, "routes[0].dst"),
        (#""mac":"6a:86:fd:5e:e0:0c""#, #""mac":"6a:86""#, "is not a MAC address")
    ])
    func rejectsResultsThatBreakTheSpecification(original: String, broken: String, reason: String) throws {
        let text = sample.replacingOccurrences(of: original, with: broken)
        #expect(text != sample)
        do {
            _ = try CNIResult.parse(Data(text.utf8))
            Issue.record("accepted a broken result: \(broken)")
        } catch {
            #expect("\(error)".contains(reason), "\(error)")
        }
    }

    @Test func bridgeNetworkConfigurationFollowsTheSpecification() throws {
        let net = BridgeNetwork(
            name: "sn-a", bridge: "sn-br0", subnet: "203.0.113.0/24", dataDirectory: "/tmp/x",
            routes: ["0.0.0.0/0"], mtu: 1400)
        let c = net.configuration
        #expect(c["cniVersion"] as? String == "1.0.0")
        #expect(c["name"] as? String == "sn-a")
        #expect(c["type"] as? String == "bridge")
        #expect(c["bridge"] as? String == "sn-br0")
        #expect(c["mtu"] as? Int == 1400)
        let ipam = try #require(c["ipam"] as? [String: Any])
        #expect(ipam["type"] as? String == "host-local")
        #expect(ipam["dataDir"] as? String == "/tmp/x")
        let ranges = try #require(ipam["ranges"] as? [[[String: Any]]])
        #expect(ranges.first?.first?["subnet"] as? String == "203.0.113.0/24")
        #expect((ipam["routes"] as? [[String: String]]) == [["dst": "0.0.0.0/0"]])
    }

    @Test func pluginErrorsPrintTheirMeaning() {
        let f = PluginFailure(plugin: "bridge", command: .add, code: 7, message: "bad subnet", details: "x")
        #expect(f.description == "CNI plugin bridge ADD failed with code 7 (invalid network config): bad subnet (x)")
    }
}
