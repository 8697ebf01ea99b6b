import Foundation
import NetlinkSocket
import QemuWiring
import SandboxNetwork
import SandnetCore
import TestSupport
import Testing

extension SandboxIntegration {
    /// The host side of plug and unplug against the real kernel: one endpoint wired into
    /// an attached sandbox on a spare root port, journaled, and undone exactly, alone.
    @Suite(.serialized) struct HotplugHostTests {
        static let models: [NetworkModel] = [.tcfilter, .macvtap]

        /// A pod attached with eth0 and `spare` spare ports, then eth1 added as CNI would.
        func withAttachedPod(
            spare: Int, _ body: (PodFixture, JournalStore, _ beforeAttach: String, _ beforePlug: String) throws -> Void
        ) throws {
            try PodFixture.withEndpoint { f in
                let state = StateDirectory()
                let store = JournalStore(directory: state.path)
                let beforeAttach = try f.snapshot()
                let r = try SandboxAttach.attach(
                    AttachSettings(sandbox: "hp", namespace: f.pod.namespace.path, vcpus: 2, sparePorts: spare), store: store)
                r.closeDescriptors()
                try f.addEndpoint("eth1", .veth, number: 1)
                try f.configure("eth1", number: 1)
                let beforePlug = try f.snapshot()
                try body(f, store, beforeAttach, beforePlug)
                _ = try? SandboxDetach.detach(sandbox: "hp", store: store, force: true)
            }
        }

        /// `ip -j -d`/`tc -j -d` of one device: link, addresses, routes of every table, permanent neighbours, qdiscs, ingress filters.
        func deviceSnapshot(_ f: PodFixture, _ dev: String) throws -> String {
            let out: [String: Any] = [
                "link": try f.pod.ipJSON("-d", "link", "show", "dev", dev), "addr": try f.pod.ipJSON("-d", "addr", "show", "dev", dev),
                "route4": try f.pod.ipJSON("-d", "route", "show", "table", "all", "dev", dev),
                "route6": try f.pod.ipJSON("-d", "-6", "route", "show", "table", "all", "dev", dev),
                "neigh": try f.pod.ipJSON("-d", "neigh", "show", "dev", dev, "nud", "permanent"),
                "qdisc": try f.pod.tcJSON("-d", "qdisc", "show", "dev", dev),
                "filter": try f.pod.tcJSON("-d", "filter", "show", "dev", dev, "ingress")
            ]
            return String(decoding: try JSONSerialization.data(withJSONObject: out, options: [.sortedKeys, .prettyPrinted]), as: UTF8.self)
        }

        @Test(.enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"), arguments: models)
        func plugWiresOneEndpointAndUnwireRestoresItAlone(_ model: NetworkModel) throws {
            try withAttachedPod(spare: 2) { f, store, _, beforePlug in
                let attachedTaps = try f.pod.ipJSON(
                    "link", "show", "group", "\(try SandboxPlug.journal(sandbox: "hp", store: store).linkGroup)")
                let p = try SandboxPlug.wire(PlugSettings(sandbox: "hp", endpoint: "eth1", model: model), store: store)
                defer { p.closeDescriptors() }
                #expect(p.plugged.endpoint == "eth1" && p.plugged.state == .wired && p.plugged.queues == 2)
                #expect(p.rootPort.id == "sn-rp1" && p.rootPort.guestAddress == "00:10.1")
                #expect(p.queueFDs.count == 2 && p.vhostFDs.count == (FileManager.default.fileExists(atPath: "/dev/vhost-net") ? 2 : 0))
                for fd in p.queueFDs { #expect(fcntl(fd, F_GETFD) & FD_CLOEXEC != 0, "queue descriptor \(fd) is open and CLOEXEC") }
                #expect(p.guestInterface.addresses.map(\.description).contains("198.51.100.42/27"))
                // The kernel has it: the device in the sandbox's group, on eth1.
                let device = try #require(p.plugged.device)
                let link = try #require(try f.pod.ipJSON("-d", "link", "show", device).first)
                #expect((link["linkinfo"] as? [String: Any])?["info_kind"] as? String == (model == .macvtap ? "macvtap" : "tun"))
                if model == .tcfilter {
                    #expect(try f.pod.tcJSON("filter", "show", "dev", "eth1", "ingress").contains { $0["kind"] as? String == "u32" })
                } else {
                    // Its addresses went with the macvtap model (the guest answers for them now).
                    #expect(!(try f.pod.ip("addr", "show", "eth1")).contains("198.51.100.42"))
                }
                // The journal has it: the record, the claim, the port.
                let j = try SandboxPlug.journal(sandbox: "hp", store: store)
                #expect(j.format == SandboxJournal.formatVersion)
                #expect(j.rootPorts?.map(\.endpoint) == ["eth0", "eth1", nil])
                #expect(j.plugged?.count == 1 && j.plugged?[0].steps.isEmpty == false)
                #expect(j.endpoints?.map(\.name) == ["eth0", "eth1"])
                // A second plug of it is refused, before anything.
                #expect(throws: HotplugError.alreadyWired(endpoint: "eth1", sandbox: "hp")) {
                    try SandboxPlug.wire(PlugSettings(sandbox: "hp", endpoint: "eth1", model: model), store: store)
                }
                p.closeDescriptors()
                let undone = try SandboxPlug.unwire(sandbox: "hp", endpoint: "eth1", store: store)
                #expect(!undone.isEmpty)
                // eth1 exactly as before the plug; eth0's tap and filters untouched.
                let now = try f.snapshot()
                #expect(now == beforePlug, "\(firstDifference(beforePlug, now))")
                let group = try SandboxPlug.journal(sandbox: "hp", store: store).linkGroup
                #expect(
                    try f.pod.ipJSON("link", "show", "group", "\(group)").map { $0["ifname"] as? String }
                        == attachedTaps.map { $0["ifname"] as? String })
                let after = try SandboxPlug.journal(sandbox: "hp", store: store)
                #expect(after.plugged?.isEmpty == true && after.rootPorts?.map(\.endpoint) == ["eth0", nil, nil])
                #expect(after.endpoints?.map(\.name) == ["eth0"])
            }
        }

        @Test(.enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"))
        func tooManySparePortsAreRefusedBeforeTouchingAnything() throws {
            try PodFixture.withEndpoint { f in
                let state = StateDirectory()
                let store = JournalStore(directory: state.path)
                let before = try f.snapshot()
                #expect(throws: QemuWiringError.self) {
                    try SandboxAttach.attach(
                        AttachSettings(sandbox: "hp", namespace: f.pod.namespace.path, architecture: .x86_64, sparePorts: 120), store: store
                    )
                }
                #expect(try f.snapshot() == before)
                #expect(try store.read(sandbox: "hp") == nil)
                // The limit itself is taken: 1 NIC and 119 spare ports on q35.
                let r = try SandboxAttach.attach(
                    AttachSettings(sandbox: "hp", namespace: f.pod.namespace.path, architecture: .x86_64, sparePorts: 119), store: store)
                r.closeDescriptors()
                #expect(try store.read(sandbox: "hp")?.rootPorts?.count == 120)
                _ = try SandboxDetach.detach(sandbox: "hp", store: store, force: true)
            }
        }

        @Test(.enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"))
        func noFreeRootPortFailsBeforeTouchingAnything() throws {
            try withAttachedPod(spare: 0) { f, store, _, beforePlug in
                let journalBefore = try Data(contentsOf: URL(fileURLWithPath: store.path(of: "hp")))
                #expect(throws: HotplugError.noFreeRootPort(sandbox: "hp", ports: 1)) {
                    try SandboxPlug.wire(PlugSettings(sandbox: "hp", endpoint: "eth1"), store: store)
                }
                #expect(try f.snapshot() == beforePlug)
                #expect(try Data(contentsOf: URL(fileURLWithPath: store.path(of: "hp"))) == journalBefore)
            }
        }

        @Test(.enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"), arguments: models)
        func detachUndoesPluggedEndpointsToo(_ model: NetworkModel) throws {
            try withAttachedPod(spare: 1) { f, store, beforeAttach, beforePlug in
                let ethOneBeforePlug = try deviceSnapshot(f, "eth1")
                // No --endpoint: the one endpoint without a NIC.
                let p = try SandboxPlug.wire(PlugSettings(sandbox: "hp", model: model), store: store)
                p.closeDescriptors()
                #expect(p.plugged.endpoint == "eth1")
                #expect(throws: HotplugError.noFreeRootPort(sandbox: "hp", ports: 2)) {
                    try SandboxPlug.wire(PlugSettings(sandbox: "hp", endpoint: "eth1"), store: store)
                }
                _ = try SandboxDetach.detach(sandbox: "hp", store: store, force: true)
                // eth0 is covered by the attach's own tests; here: eth1 as before its plug, and nothing of sandnet's left.
                #expect(try f.pod.ipJSON("link", "show").compactMap { $0["ifname"] as? String } == ["lo", "eth0", "eth1"])
                let now = try deviceSnapshot(f, "eth1")
                #expect(now == ethOneBeforePlug, "\(firstDifference(ethOneBeforePlug, now))")
                _ = (beforeAttach, beforePlug)
            }
        }

        @Test(.enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"))
        func unplugRefusesWhileQemuHasTheNIC() throws {
            try withAttachedPod(spare: 1) { f, store, _, _ in
                let p = try SandboxPlug.wire(PlugSettings(sandbox: "hp", endpoint: "eth1"), store: store)
                p.closeDescriptors()
                try SandboxPlug.mark(sandbox: "hp", endpoint: "eth1", state: .inGuest, store: store)
                #expect(throws: HotplugError.wrongState(endpoint: "eth1", state: "inGuest", operation: "undo the host side of")) {
                    try SandboxPlug.unwire(sandbox: "hp", endpoint: "eth1", store: store)
                }
                #expect(throws: HotplugError.notPlugged(endpoint: "eth0", sandbox: "hp", attached: true)) {
                    try SandboxPlug.unwire(sandbox: "hp", endpoint: "eth0", store: store)
                }
                #expect(try f.pod.ipJSON("link", "show", try #require(p.plugged.device)).count == 1)
            }
        }
    }
}
