import Foundation
import KernelConformance
import NetlinkCodec
import NetlinkSocket
import Rtnetlink
import TapDevices
import TestSupport
import Testing
import TrafficControl

#if canImport(Glibc)
    import Glibc
#endif

@Suite(.serialized) struct TapDeviceTests {
    static func linkJSON(_ ns: TestNamespace, _ name: String) throws -> [String: Any] {
        try #require(try ns.ipJSON("-d", "link", "show", "dev", name).first)
    }

    @Test(.enabled(if: TestEnvironment.isRoot, "needs root: creates namespaces and taps"))
    func multiqueueTapIsCreatedReopenedAndDeletedLikeIpShowsIt() throws {
        try TestNamespace.with(prefix: "sntT") { ns in
            let spec = TapSpec(name: "tap0", queues: 3, owner: 65534, group: 65534)
            let queues = try TunTap.create(spec, in: ns.namespace)
            #expect(queues.count == 3)
            let ip = try Self.linkJSON(ns, "tap0")
            let data = (ip["linkinfo"] as? [String: Any])?["info_data"] as? [String: Any]
            #expect(data?["type"] as? String == "tap")
            #expect(data?["pi"] as? Bool == false)
            #expect(data?["vnet_hdr"] as? Bool == true)
            #expect(data?["multi_queue"] as? Bool == true)
            #expect(data?["persist"] as? Bool == true)
            #expect(data?["numqueues"] as? Int == 3)
            #expect(ip["ifindex"] as? Int == Int(queues.index))
            let listed = try #require(try TunTap.list(in: ns.namespace).first { $0.name == "tap0" })
            guard case .tun(let info)? = listed.kindData else {
                Issue.record("tap0 not decoded as tun")
                return
            }
            #expect(info.mode == .tap && info.vnetHeader == true && info.multiQueue == true && info.persistent == true)
            #expect(info.queues == 3 && info.owner == 65534 && info.group == 65534)

            // A second create of the same name fails instead of silently attaching.
            #expect(throws: NetlinkError.self) {
                _ = try TunTap.create(TapSpec(name: "tap0", queues: 1, multiQueue: true), in: ns.namespace)
            }

            // Persistent: closing the queues keeps the device; re-opening attaches new queues.
            queues.close()
            #expect(
                (try Self.linkJSON(ns, "tap0")["linkinfo"] as? [String: Any]).flatMap {
                    ($0["info_data"] as? [String: Any])?["numqueues"] as? Int
                } == 0)
            let again = try TunTap.openQueues(name: "tap0", count: 2, in: ns.namespace)
            #expect(again.count == 2)
            guard case .tun(let info2)? = try TunTap.list(in: ns.namespace).first(where: { $0.name == "tap0" })?.kindData else {
                Issue.record("tap0 vanished")
                return
            }
            #expect(info2.queues == 2)
            again.close()

            try TunTap.delete(name: "tap0", in: ns.namespace)
            #expect(try ns.ipJSON("link", "show").allSatisfy { $0["ifname"] as? String != "tap0" })
        }
    }

    @Test(.enabled(if: TestEnvironment.isRoot, "needs root: creates namespaces and taps"))
    func tapIsCreatedInTheNamespaceAskedForAndQueuesAreCloexecUntilReleased() throws {
        try TestNamespace.with(prefix: "sntT") { ns in
            let queues = try TunTap.create(TapSpec(name: "tapx", queues: 2, persistent: false), in: ns.namespace)
            #expect(if_nametoindex("tapx") == 0, "the tap must not appear in the test process's own namespace")
            for fd in queues.descriptors { #expect(fcntl(fd, F_GETFD) & FD_CLOEXEC != 0) }
            try queues.allowInheritance()
            for fd in queues.descriptors { #expect(fcntl(fd, F_GETFD) & FD_CLOEXEC == 0) }
            let forQEMU = try TunTap.openQueues(name: "tapx", count: 1, in: ns.namespace, closeOnExec: false)
            #expect(fcntl(forQEMU.descriptors[0], F_GETFD) & FD_CLOEXEC == 0)
            forQEMU.close()
            // Not persistent: the device goes with its last queue.
            queues.close()
            #expect(try ns.ipJSON("link", "show").allSatisfy { $0["ifname"] as? String != "tapx" })
        }
    }

    @Test(
        .enabled(if: TestEnvironment.isRoot, "needs root: creates namespaces and macvtaps"),
        arguments: MacvlanMode.allCases.filter { $0 != .source })
    func macvtapInEveryModeMatchesIp(mode: MacvlanMode) throws {
        try TestNamespace.with(prefix: "sntM") { ns in
            let rt = try Rtnetlink(namespace: ns.namespace)
            defer { rt.close() }
            try rt.linkAdd(LinkSpec(name: "low0", kind: .veth(peerName: "low1"), up: true))
            let link = try Macvtap.create(MacvtapSpec(name: "mvt0", parent: .name("low0"), mode: mode), in: rt)
            #expect(link.kindData == .macvtap(mode: mode))
            let ip = try Self.linkJSON(ns, "mvt0")
            let info = ip["linkinfo"] as? [String: Any]
            #expect(info?["info_kind"] as? String == "macvtap")
            #expect((info?["info_data"] as? [String: Any])?["mode"] as? String == mode.rawValue)
            #expect(ip["link"] as? String == "low0")
            let number = try Macvtap.deviceNumber(index: link.index, in: ns.namespace)
            let sysfs = try TestEnvironment.sh(["ip", "netns", "exec", ns.name, "cat", "/sys/class/macvtap/tap\(link.index)/dev"])
            #expect(number.description == sysfs.trimmingCharacters(in: .whitespacesAndNewlines))
            try Macvtap.delete(.name("mvt0"), in: rt)
            #expect(try ns.ipJSON("link", "show").allSatisfy { $0["ifname"] as? String != "mvt0" })
        }
    }

    @Test(.enabled(if: VhostNet.isAvailable, "kernel lacks vhost-net (/dev/vhost-net, CONFIG_VHOST_NET): opened and VHOST_SET_OWNER tried"))
    func vhostNetCanBeClaimed() throws {
        // The same checks the kernel lab runs in the Debian cloud guest (Sources/KernelConformance).
        try SandboxChecks.vhostNetCanBeClaimed()
    }

    @Test(.enabled(if: VhostNet.isAvailable, "kernel lacks vhost-net (/dev/vhost-net, CONFIG_VHOST_NET): opened and VHOST_SET_OWNER tried"))
    func tcfilterModelHandsQemuVhostDescriptors() throws {
        try SandboxChecks.attachAndDetach(.veth, model: .tcfilter, vhost: true)
    }

    @Test(.enabled(if: VhostNet.isAvailable, "kernel lacks vhost-net (/dev/vhost-net, CONFIG_VHOST_NET): opened and VHOST_SET_OWNER tried"))
    func macvtapModelHandsQemuVhostDescriptors() throws {
        try SandboxChecks.attachAndDetach(.veth, model: .macvtap, vhost: true)
    }

    /// Builds every kind of object in a fresh namespace, deletes them all with sandnet, and
    /// expects `ip -j -d` / `tc -j -d` to print exactly what they printed before.
    @Test(.enabled(if: TestEnvironment.isRoot, "needs root: creates namespaces, taps, macvtaps and tc objects"))
    func deletingEverythingRestoresTheStartingState() throws {
        try TestNamespace.with(prefix: "sntA") { a in
            try TestNamespace.with(prefix: "sntB") { b in
                func snapshot() throws -> [String] {
                    [
                        try a.ip("-j", "-d", "link", "show"), try a.ip("-j", "-d", "address", "show"),
                        try a.tc("-j", "-d", "qdisc", "show"),
                        try a.tc("-j", "-d", "filter", "show", "dev", "lo"), try b.ip("-j", "-d", "link", "show")
                    ]
                }
                let before = try snapshot()
                let rt = try Rtnetlink(namespace: a.namespace)
                defer { rt.close() }
                try rt.linkAdd(LinkSpec(name: "ep0", kind: .veth(peerName: "ep0p", peerNamespace: b.namespace), up: true))
                let tap = try TunTap.create(TapSpec(name: "tap0", queues: 4), in: a.namespace)
                try rt.linkSet(.name("tap0"), LinkChange(up: true))
                for (from, to) in [("tap0", "ep0"), ("ep0", "tap0")] {
                    try rt.qdiscAdd(QdiscSpec(device: .name(from), kind: .ingress))
                    try rt.filterAdd(
                        FilterSpec(
                            device: .name(from), parent: .ingressQdisc, priority: 1,
                            kind: .u32(.matchAll, actions: [.mirred(MirredAction(.redirect, to: try rt.index(of: .name(to))))])))
                }
                try Macvtap.create(MacvtapSpec(name: "mvt0", parent: .name("ep0")), in: rt)
                let mq = try Macvtap.openQueues(.name("mvt0"), count: 2, in: rt, nodeDirectory: "/run/sandnet-test-\(getpid())-state")
                try rt.qdiscAdd(QdiscSpec(device: .name("mvt0"), kind: .htb(defaultClass: 1)))
                try rt.htbClassAdd(HtbClassSpec(device: .name("mvt0"), parent: TcHandle("1:")!, classID: TcHandle("1:1")!, rate: 1_000_000))
                #expect(try snapshot() != before)

                // Tear down in reverse, each object by its own verb.
                try rt.classDelete(device: .name("mvt0"), classID: TcHandle("1:1")!)
                try rt.qdiscDelete(QdiscSpec(device: .name("mvt0"), kind: .htb()))
                mq.close()
                try? FileManager.default.removeItem(atPath: "/run/sandnet-test-\(getpid())-state")
                try Macvtap.delete(.name("mvt0"), in: rt)
                for dev in ["tap0", "ep0"] {
                    try rt.filterDelete(device: .name(dev), parent: .ingressQdisc, priority: 1)
                    #expect(try rt.filters(device: .name(dev)).isEmpty)
                    try rt.qdiscDelete(QdiscSpec(device: .name(dev), kind: .ingress))
                }
                tap.close()
                try TunTap.delete(name: "tap0", in: a.namespace)
                try rt.linkDelete(.name("ep0"))
                #expect(try snapshot() == before)
            }
        }
    }
}
