import Foundation
import KernelConformance
import NetlinkCodec
import NetlinkSocket
import SandboxNetwork
import SandnetCore
import TestSupport
import Testing

extension SandboxIntegration {
    @Suite(.serialized) struct DiscoveryTests {
        @Test(.enabled(if: KindProbe.has(.veth), KindProbe.reason(.veth))) func classifiesVeth() throws { try classifies(.veth) }
        @Test(.enabled(if: KindProbe.has(.macvlan), KindProbe.reason(.macvlan))) func classifiesMacvlan() throws {
            try classifies(.macvlan)
        }
        // The same checks the kernel lab runs in the Debian cloud guest (Sources/KernelConformance).
        @Test(.enabled(if: KindProbe.has(.ipvlan), KindProbe.reason(.ipvlan))) func classifiesIpvlan() throws {
            try SandboxChecks.classifies(.ipvlan)
        }
        @Test(.enabled(if: KindProbe.has(.vlan), KindProbe.reason(.vlan))) func classifiesVlan() throws {
            try SandboxChecks.classifies(.vlan)
        }
        @Test(.enabled(if: KindProbe.has(.vxlan), KindProbe.reason(.vxlan))) func classifiesVxlan() throws { try classifies(.vxlan) }

        // Attach and detach on the endpoint kinds this host may lack: the lab runs the same.
        @Test(.enabled(if: KindProbe.has(.ipvlan), KindProbe.reason(.ipvlan))) func tcfilterOnIpvlanAttachesAndDetachRestores() throws {
            try SandboxChecks.attachAndDetach(.ipvlan, model: .tcfilter, vhost: KernelFeatureProbe.vhostNet)
        }
        @Test(.enabled(if: KindProbe.has(.vlan), KindProbe.reason(.vlan))) func tcfilterOnVlanAttachesAndDetachRestores() throws {
            try SandboxChecks.attachAndDetach(.vlan, model: .tcfilter, vhost: KernelFeatureProbe.vhostNet)
        }
        @Test(.enabled(if: KindProbe.has(.vlan), KindProbe.reason(.vlan))) func macvtapOnVlanAttachesAndDetachRestores() throws {
            try SandboxChecks.attachAndDetach(.vlan, model: .macvtap, vhost: KernelFeatureProbe.vhostNet)
        }

        func classifies(_ k: PodFixture.EndpointKind) throws {
            try PodFixture.with { f in
                try f.addEndpoint("eth0", k, number: 0)
                let e = try #require(try Discovery.scan(f.pod.namespace).links.first { $0.name == "eth0" })
                #expect(e.linkClass.rawValue == k.rawValue)
                #expect(e.isEndpoint)
                #expect(e.reason == nil)
                // A macvlan's parent stays in the host namespace, as a CNI's does: named by its index there.
                if k == .macvlan {
                    let uplink = try #require(try f.host.ipJSON("link", "show", "uplink").first?["ifindex"] as? Int)
                    #expect(e.lower == "ifindex \(uplink) in another namespace", "\(String(describing: e.lower))")
                } else {
                    #expect(e.lower == nil)
                }
            }
        }

        @Test(.enabled(if: KindProbe.has(.macvlan), KindProbe.reason(.macvlan)))
        func aMacvlanOnALinkOfTheSameNamespaceNamesItsLower() throws {
            try PodFixture.with { f in
                try f.addEndpoint("eth0", .veth, number: 0)
                try f.pod.ip("link", "add", "link", "eth0", "name", "mv0", "type", "macvlan", "mode", "bridge")
                let e = try #require(try Discovery.scan(f.pod.namespace).links.first { $0.name == "mv0" })
                #expect(e.lower == "eth0")
                #expect(e.vlanID == nil)
            }
        }

        @Test(.enabled(if: KindProbe.has(.veth), KindProbe.reason(.veth)))
        func classifiesEveryLinkAndCountsOnlyRealEndpoints() throws {
            let kinds = PodFixture.EndpointKind.allCases.filter(KindProbe.has)
            try PodFixture.with { f in
                for (i, k) in kinds.enumerated() { try f.addEndpoint("eth\(i)", k, number: i) }
                try f.pod.ip("link", "add", "br0", "type", "bridge")
                try f.pod.ip("tuntap", "add", "dev", "tun0", "mode", "tun")
                try f.configure("eth0", number: 0)
                let scan = try Discovery.scan(f.pod.namespace)
                func link(_ n: String) throws -> ScannedLink { try #require(scan.links.first { $0.name == n }) }
                #expect(try link("lo").linkClass == .loopback)
                #expect(try link("br0").linkClass == .bridge)
                #expect(try link("tun0").linkClass == .unsupported)
                #expect(try link("tun0").reason?.contains("tun") == true)
                for (i, k) in kinds.enumerated() {
                    let l = try link("eth\(i)")
                    #expect(l.linkClass.rawValue == k.rawValue)
                    #expect(l.isEndpoint)
                }
                // lo, the bridge and the layer-3 tun do not size the PCIe topology.
                #expect(scan.endpointCount == kinds.count)
                #expect(scan.endpoints.map(\.name).sorted() == kinds.indices.map { "eth\($0)" })
            }
        }

        @Test(.enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"))
        func endpointDetailsMatchIproute2() throws {
            try PodFixture.withEndpoint { f in
                try f.pod.ip("link", "set", "eth0", "mtu", "1450")
                let e = try #require(try Discovery.scan(f.pod.namespace).endpoints.first)
                let ip = try #require(try f.pod.ipJSON("link", "show", "eth0").first)
                #expect(e.mac?.description == ip["address"] as? String)
                #expect(e.mtu == 1450)
                #expect(e.flags.contains("UP"))
                #expect(Set(e.addresses.map(\.prefix.description)).isSuperset(of: ["198.51.100.10/27", "2001:db8::2/64"]))
                let def = try #require(e.routes.first { $0.family == .inet && $0.destination == nil })
                #expect(def.gateway == IPAddress("198.51.100.1"))
                #expect(def.mtu == 1400)
                #expect(e.routes.contains { $0.destination == IPPrefix("203.0.113.0/28") && $0.scope == .link })
                #expect(e.routes.contains { $0.destination == IPPrefix("2001:db8:ff0::/48") && $0.gateway == IPAddress("2001:db8::1") })
                #expect(e.neighbours.map { "\($0.address) \($0.mac) \($0.permanent)" } == ["198.51.100.1 02:00:00:00:00:fe true"])
            }
        }

        @Test(.enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"))
        func bridgePortsAreNotEndpoints() throws {
            try PodFixture.with { f in
                try f.addEndpoint("eth0", .veth, number: 0)
                try f.pod.ip("link", "add", "br0", "type", "bridge")
                try f.pod.ip("link", "set", "eth0", "master", "br0")
                let scan = try Discovery.scan(f.pod.namespace)
                #expect(scan.endpointCount == 0)
                #expect(scan.links.first { $0.name == "eth0" }?.reason == "enslaved to br0")
            }
        }
    }
}
