import CNI
import Foundation
import TestSupport
import Testing

/// Real plugins from containernetworking-plugins, run inside throwaway "host" namespaces.
@Suite(
    .enabled(if: TestEnvironment.isRoot, "needs root: CNI plugins create bridges and veths"),
    .enabled(
        if: FileManager.default.isExecutableFile(atPath: "/usr/lib/cni/bridge"),
        "containernetworking-plugins is not installed (/usr/lib/cni/bridge): run scripts/setup.sh"))
struct CNIPluginTests {
    /// A host namespace, a pod namespace, and a private host-local data directory, all removed afterwards.
    func withRig(_ body: (CNIPluginRunner, BridgeNetwork, TestNamespace, TestNamespace) throws -> Void) throws {
        let dataDir = NSTemporaryDirectory() + "sandnet-cni-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: dataDir) }
        try TestNamespace.with(prefix: "sn-cnih") { host in
            try TestNamespace.with(prefix: "sn-cnip") { pod in
                let net = BridgeNetwork(
                    name: "sn-test", bridge: "sn-br0", subnet: "203.0.113.0/24", dataDirectory: dataDir,
                    routes: ["0.0.0.0/0"])
                try body(CNIPluginRunner(hostNamespace: host.name), net, host, pod)
            }
        }
    }

    @Test func addCheckDeleteInsideTheHostNamespace() throws {
        try withRig { cni, net, host, pod in
            let attachment = CNIAttachment(containerID: "pod-\(pod.name)", namespacePath: pod.namespace.path, interfaceName: "eth0")
            let result = try cni.add(net, attachment)

            // The result names what the kernel now holds.
            let eth0 = try #require(result.containerInterface(named: "eth0"))
            let address = try #require(result.addresses(on: "eth0").first)
            #expect(address.description.hasPrefix("203.0.113."))
            #expect(address.length == 24)
            let link = try #require(try pod.ipJSON("addr", "show", "dev", "eth0").first)
            #expect(link["address"] as? String == eth0.mac)
            let addrs = (link["addr_info"] as? [[String: Any]] ?? []).compactMap { a in
                (a["local"] as? String).map { "\($0)/\(a["prefixlen"] as? Int ?? -1)" }
            }
            #expect(addrs.contains(address.description))
            #expect(try pod.ipJSON("route", "show", "default").first?["gateway"] as? String == "203.0.113.1")
            // The bridge lives in the host namespace, not in the machine's.
            #expect(try host.ipJSON("link", "show", "sn-br0").count == 1)
            #expect(try TestEnvironment.run(["ip", "link", "show", "sn-br0"]).status != 0)
            #expect(net.allocatedAddresses() == [address.address])

            try cni.check(net, attachment, previous: result)

            try cni.delete(net, attachment, previous: result)
            #expect(try pod.ipJSON("link", "show").map { $0["ifname"] as? String } == ["lo"])
            #expect(net.allocatedAddresses().isEmpty)
            // DEL is idempotent by specification.
            try cni.delete(net, attachment)
        }
    }

    @Test func twoContainersOnOneBridgeReachEachOther() throws {
        try withRig { cni, net, host, pod in
            try TestNamespace.with(prefix: "sn-cnipeer") { peer in
                let a = CNIAttachment(containerID: "pod", namespacePath: pod.namespace.path, interfaceName: "eth0")
                let b = CNIAttachment(containerID: "peer", namespacePath: peer.namespace.path, interfaceName: "eth0")
                let ra = try cni.add(net, a)
                defer { try? cni.delete(net, a, previous: ra) }
                let rb = try cni.add(net, b)
                defer { try? cni.delete(net, b, previous: rb) }
                let peerAddress = try #require(rb.addresses(on: "eth0").first).address
                #expect(ra.addresses(on: "eth0").first?.address != peerAddress)
                let ping = try TestEnvironment.run(["ip", "netns", "exec", pod.name, "busybox", "ping", "-c", "1", "-W", "2", peerAddress])
                #expect(ping.status == 0, "\(ping.stdout)\(ping.stderr)")
            }
        }
    }

    @Test func pluginErrorObjectBecomesATypedError() throws {
        try withRig { cni, net, _, _ in
            let missing = CNIAttachment(
                containerID: "ghost", namespacePath: "/run/netns/sn-does-not-exist-\(getpid())", interfaceName: "eth0")
            do {
                _ = try cni.add(net, missing)
                Issue.record("ADD into a missing namespace succeeded")
            } catch let CNIError.plugin(failure) {
                #expect(failure.command == .add)
                #expect(failure.code != 0)
                #expect(failure.message.contains("sn-does-not-exist"), "\(failure)")
            }
            #expect(net.allocatedAddresses().isEmpty)
        }
    }

    @Test func versionListsTheSpecificationVersionWeSpeak() throws {
        let versions = try CNIPluginRunner().supportedVersions(of: "bridge")
        #expect(versions.contains(cniSpecVersion))
    }

    @Test func missingPluginIsNamed() throws {
        let cni = CNIPluginRunner(pluginDirectory: "/nonexistent/cni")
        #expect(throws: CNIError.pluginNotFound(plugin: "bridge", directory: "/nonexistent/cni")) {
            _ = try cni.supportedVersions(of: "bridge")
        }
    }
}
