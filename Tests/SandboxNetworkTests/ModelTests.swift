import Foundation
import NetlinkCodec
import NetlinkSocket
import QemuWiring
import SandboxNetwork
import SandnetCore
import TestSupport
import Testing

extension SandboxIntegration {
    /// Each model on each endpoint kind, one and several endpoints, IPv4 and IPv6: the QEMU
    /// arguments and guest description field by field, and after detach `ip -j -d` / `tc -j -d`
    /// of the pod identical to before attach.
    @Suite(.serialized) struct ModelTests {
        struct Case: CustomStringConvertible, Sendable {
            var model: NetworkModel
            var kinds: [PodFixture.EndpointKind]
            var vcpus: Int
            var description: String { "\(model) on \(kinds.map(\.rawValue).joined(separator: "+")) with \(vcpus) vCPUs" }
        }

        static let cases: [Case] = {
            var out: [Case] = []
            for m in NetworkModel.allCases {
                for k in PodFixture.EndpointKind.allCases where KindProbe.has(k) {
                    // macvtap needs the endpoint's own MAC: an ipvlan has its parent's.
                    if m == .macvtap && k == .ipvlan { continue }
                    out.append(Case(model: m, kinds: [k], vcpus: 2))
                }
                let several = [PodFixture.EndpointKind.veth, .macvlan, .vxlan].filter(KindProbe.has)
                out.append(Case(model: m, kinds: several, vcpus: 1))
            }
            return out
        }()

        @Test(.enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"), arguments: cases)
        func attachDescribesAndDetachRestores(_ c: Case) throws {
            try PodFixture.with { f in
                for (i, k) in c.kinds.enumerated() {
                    try f.addEndpoint("eth\(i)", k, number: i)
                    try f.configure("eth\(i)", number: i)
                }
                let before = try f.snapshot()
                let macs = try c.kinds.indices.map { i in
                    try #require(MACAddress(try f.pod.ipJSON("link", "show", "eth\(i)")[0]["address"] as! String))
                }
                let state = StateDirectory()
                let store = JournalStore(directory: state.path)
                let r = try SandboxAttach.attach(
                    AttachSettings(
                        sandbox: "m1", namespace: f.pod.namespace.path, model: c.model,
                        vcpus: c.vcpus, architecture: .arm64, sparePorts: 2), store: store)
                defer { r.closeDescriptors() }
                let order = r.summary.endpoints.map(\.name)
                #expect(Set(order) == Set(c.kinds.indices.map { "eth\($0)" }))

                // QEMU arguments
                if c.model == .none {
                    #expect(r.plan == nil && r.summary.qemuArguments.isEmpty)
                } else {
                    let plan = try #require(r.plan)
                    #expect(plan.topology.rootPorts.count == c.kinds.count + 2)
                    #expect(plan.placements.count == c.kinds.count)
                    for (k, p) in plan.placements.enumerated() {
                        let i = Int(order[k].dropFirst(3))!
                        #expect(p.nic.mac == macs[i], "guest NIC \(k) must carry endpoint eth\(i)'s MAC")
                        #expect(p.nic.queueFDs.count == c.vcpus)
                        #expect(p.nic.vhostFDs.isEmpty == !FileManager.default.fileExists(atPath: "/dev/vhost-net"))
                        #expect(p.rootPort.id == "sn-rp\(k)")
                        #expect(p.netdevArgument == "tap,id=\(p.nic.id),fds=\(p.nic.queueFDs.map(String.init).joined(separator: ":"))")
                        #expect(
                            p.deviceArgument
                                == "virtio-net-pci,id=\(p.nic.id)-nic,netdev=\(p.nic.id),mac=\(macs[i]),mq=on,vectors=\(2 * c.vcpus + 2),bus=sn-rp\(k),addr=0x0"
                        )
                        for fd in p.nic.queueFDs { #expect(fcntl(fd, F_GETFD) >= 0, "queue descriptor \(fd) is open") }
                    }
                    #expect(r.summary.qemuArguments == plan.arguments)
                }

                // Host side
                for (k, e) in r.summary.endpoints.enumerated() {
                    let i = Int(e.name.dropFirst(3))!
                    let link = try f.pod.ipJSON("-d", "link", "show", e.name)[0]
                    switch c.model {
                    case .tcfilter:
                        let tap = try #require(e.device)
                        let tapJSON = try f.pod.ipJSON("-d", "link", "show", tap)[0]
                        #expect(tapJSON["mtu"] as? Int == link["mtu"] as? Int)
                        #expect(tapJSON["group"] as? String == "\(r.summary.linkGroup)")
                        #expect(link["address"] as? String == macs[i].description, "tcfilter leaves the endpoint's MAC alone")
                        for (from, to) in [(e.name, tap), (tap, e.name)] {
                            let action = try f.pod.tcJSON("-d", "filter", "show", "dev", from, "ingress")
                                .compactMap { ($0["options"] as? [String: Any])?["actions"] as? [[String: Any]] }.first?.first
                            #expect(action?["to_dev"] as? String == to)
                            #expect(action?["mirred_action"] as? String == "redirect")
                        }
                        #expect(try f.pod.ipJSON("addr", "show", e.name)[0]["addr_info"].map { ($0 as! [[String: Any]]).count } ?? 0 >= 2)
                    case .macvtap:
                        let mv = try f.pod.ipJSON("-d", "link", "show", try #require(e.device))[0]
                        #expect(mv["address"] as? String == macs[i].description)
                        let info = (mv["linkinfo"] as? [String: Any])?["info_data"] as? [String: Any]
                        #expect(info?["mode"] as? String == "bridge")
                        let newMAC = try #require(MACAddress(link["address"] as! String))
                        #expect(newMAC != macs[i] && newMAC.isLocallyAdministered && !newMAC.isMulticast)
                        let global = (try f.pod.ipJSON("addr", "show", e.name)[0]["addr_info"] as! [[String: Any]]).filter {
                            ($0["scope"] as? String) == "global"
                        }
                        #expect(global.isEmpty, "the endpoint's addresses moved to the guest")
                    case .none:
                        #expect(e.device == nil)
                    }
                    _ = k
                }

                // Guest description
                let g = r.guestDescription
                #expect(g.version == 1 && g.sandbox == "m1")
                for (k, gi) in g.interfaces.enumerated() {
                    let i = Int(gi.name.dropFirst(3))!
                    #expect(gi.mac == macs[i])
                    #expect(gi.mtu == 1500)
                    #expect(gi.model == c.model.rawValue)
                    #expect(gi.addresses == [IPPrefix("198.51.100.\(32 * i + 10)/27")!, IPPrefix("2001:db8:\(i)::2/64")!])
                    var expectedRoutes = ["203.0.113.\(i * 16)/28"]
                    if i == 0 { expectedRoutes.append("default") }
                    expectedRoutes.append(IPPrefix("2001:db8:ff\(i)::/48")!.description)
                    #expect(gi.routes.map(\.destination) == expectedRoutes)
                    if i == 0 {
                        #expect(
                            gi.routes[1].gateway == IPAddress("198.51.100.1") && gi.routes[1].mtu == 1400 && gi.routes[1].family == "inet")
                        #expect(
                            gi.neighbours == [GuestNeighbour(address: IPAddress("198.51.100.1")!, mac: MACAddress("02:00:00:00:00:fe")!)])
                    }
                    if c.model == .none {
                        #expect(gi.pciRootPort == nil && gi.pciRootPortAddress == nil && gi.pciSlot == nil)
                    } else {
                        #expect(gi.pciRootPort == "sn-rp\(k)")
                        #expect(gi.pciRootPortAddress == "00:10.\(k)")
                        #expect(gi.pciSlot == "00.0")
                    }
                }

                r.closeDescriptors()
                let report = try SandboxDetach.detach(sandbox: "m1", store: store)
                #expect(!report.namespaceGone)
                let after = try f.snapshot()
                #expect(after == before, "\(firstDifference(before, after))")
                #expect(try store.read(sandbox: "m1") == nil)
            }
        }
    }
}
