import Foundation
import NetlinkCodec
import NetlinkSocket
import SandboxNetwork
import SandnetCore
import TestSupport
import Testing

extension SandboxIntegration {
    @Suite(.serialized) struct NoneModelTests {
        @Test(.enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"))
        func noneDescribesEndpointsWithoutTouchingTheNamespace() throws {
            try PodFixture.with { f in
                try f.addEndpoint("eth0", .veth, number: 0)
                try f.addEndpoint("eth1", .macvlan, number: 1)
                try f.configure("eth0", number: 0)
                try f.configure("eth1", number: 1, ipv4: false)
                let before = try f.snapshot()
                let state = StateDirectory()
                let store = JournalStore(directory: state.path)
                let r = try SandboxAttach.attach(
                    AttachSettings(
                        sandbox: "n1", namespace: f.pod.namespace.path, model: .none,
                        resolvConf: "nameserver 198.51.100.53\n"), store: store)
                #expect(r.plan == nil)
                #expect(r.summary.kernelChanges == 0)
                #expect(try f.snapshot() == before)
                let g = r.guestDescription
                #expect(g.dns == ["nameserver 198.51.100.53"])
                let eth0 = try #require(g.interfaces.first { $0.name == "eth0" })
                let mac0 = try #require(try f.pod.ipJSON("link", "show", "eth0").first?["address"] as? String)
                #expect(eth0.mac.description == mac0)
                #expect(eth0.model == "none")
                #expect(eth0.mtu == 1500)
                #expect(eth0.addresses.map(\.description) == ["198.51.100.10/27", "2001:db8::2/64"])
                #expect(eth0.routes.map(\.destination) == ["203.0.113.0/28", "default", "2001:db8:ff0::/48"])
                #expect(eth0.routes[1].gateway == IPAddress("198.51.100.1") && eth0.routes[1].mtu == 1400)
                #expect(eth0.neighbours == [GuestNeighbour(address: IPAddress("198.51.100.1")!, mac: MACAddress("02:00:00:00:00:fe")!)])
                #expect(eth0.pciRootPort == nil)
                let eth1 = try #require(g.interfaces.first { $0.name == "eth1" })
                #expect(eth1.addresses.map(\.description) == ["2001:db8:1::2/64"])
                _ = try SandboxDetach.detach(sandbox: "n1", store: store)
                #expect(try f.snapshot() == before)
            }
        }
    }
}
