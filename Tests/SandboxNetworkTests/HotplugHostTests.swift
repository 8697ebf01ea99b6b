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
                // eth0's NIC is the attach's: not a plug, and undone only once QEMU let it go.
                #expect(throws: HotplugError.notPlugged(endpoint: "eth0", sandbox: "hp", attached: false)) {
                    try SandboxPlug.unwire(sandbox: "hp", endpoint: "eth0", store: store)
                }
                #expect(throws: HotplugError.wrongState(endpoint: "eth0", state: "attached", operation: "undo the host side of")) {
                    try SandboxPlug.unwire(sandbox: "hp", attachedEndpoint: "eth0", store: store)
                }
                #expect(try f.pod.ipJSON("link", "show", try #require(p.plugged.device)).count == 1)
            }
        }

        /// A pod with eth0 and eth1, both attached (`model`), no spare ports.
        func withTwoAttached(
            _ model: NetworkModel,
            _ body: (PodFixture, JournalStore, AttachResult, _ eth0BeforeAttach: String, _ eth1BeforeAttach: String) throws -> Void
        ) throws {
            try PodFixture.withEndpoint { f in
                try f.addEndpoint("eth1", .veth, number: 1)
                try f.configure("eth1", number: 1)
                let state = StateDirectory()
                let store = JournalStore(directory: state.path)
                // Settled first: f.snapshot() waits out duplicate address detection (tentative addresses).
                _ = try f.snapshot()
                let (eth0, eth1) = (try deviceSnapshot(f, "eth0"), try deviceSnapshot(f, "eth1"))
                let r = try SandboxAttach.attach(
                    AttachSettings(sandbox: "hp", namespace: f.pod.namespace.path, model: model, vcpus: 2), store: store)
                r.closeDescriptors()
                defer { _ = try? SandboxDetach.detach(sandbox: "hp", store: store, force: true) }
                try body(f, store, r, eth0, eth1)
            }
        }

        @Test(.enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"), arguments: models)
        func anAttachedEndpointIsUndoneAloneAndDetachDoesNotUndoItTwice(_ model: NetworkModel) throws {
            try withTwoAttached(model) { f, store, r, eth0Before, eth1Before in
                var j = try SandboxPlug.journal(sandbox: "hp", store: store)
                // The journal names the NICs as the QEMU arguments do.
                #expect(j.attachedNICs?.map(\.device) == ["sn0-nic", "sn1-nic"] && j.attachedNICs?.map(\.netdev) == ["sn0", "sn1"])
                #expect(j.attachedNICs?.map(\.rootPort) == ["sn-rp0", "sn-rp1"])
                #expect(r.summary.qemuArguments.contains { $0.hasPrefix("virtio-net-pci,id=sn1-nic,netdev=sn1,") })
                if model == .macvtap { #expect(j.attachedNICs?.allSatisfy { $0.queueDevice != nil } == true && j.queueDevices?.count == 2) }
                let eth0Device = try #require(j.attachedNICs?[0].hostDevice)
                let eth1Device = try #require(j.attachedNICs?[1].hostDevice)
                let eth0Filters = try f.pod.tcJSON("-d", "filter", "show", "dev", eth0Device, "ingress")

                try SandboxPlug.mark(sandbox: "hp", attachedEndpoint: "eth1", state: .unplugging, store: store)
                let undone = try SandboxPlug.unwire(sandbox: "hp", attachedEndpoint: "eth1", store: store)
                #expect(!undone.isEmpty)
                // eth1 as CNI left it (before the attach), its device gone; eth0's side untouched.
                let ethOne = try deviceSnapshot(f, "eth1")
                #expect(ethOne == eth1Before, "\(firstDifference(eth1Before, ethOne))")
                #expect(try f.pod.ipJSON("link", "show").compactMap { $0["ifname"] as? String }.contains(eth1Device) == false)
                #expect(try f.pod.ipJSON("link", "show", eth0Device).count == 1)
                #expect(try f.pod.tcJSON("-d", "filter", "show", "dev", eth0Device, "ingress").count == eth0Filters.count)
                j = try SandboxPlug.journal(sandbox: "hp", store: store)
                #expect(j.attachedNICs?.map(\.state) == [.attached, .unplugged])
                // What is left (eth0's side) is intact by the journal; eth1's undone share is no difference.
                #expect(try SandboxVerification.problems(sandbox: "hp", store: store) == [])
                #expect(j.endpoints?.map(\.name) == ["eth0"] && j.rootPorts?.map(\.endpoint) == ["eth0", nil])
                if model == .macvtap { #expect(j.queueDevices?.count == 1) }
                #expect(throws: HotplugError.notPlugged(endpoint: "eth1", sandbox: "hp", attached: false)) {
                    try SandboxPlug.unwire(sandbox: "hp", attachedEndpoint: "eth1", store: store)
                }

                // Another tool takes eth1 over: new addresses, an ingress qdisc with its own filter.
                try f.pod.ip("addr", "flush", "dev", "eth1")
                try f.pod.ip("addr", "add", "198.51.100.50/27", "dev", "eth1")
                try f.pod.tc("qdisc", "add", "dev", "eth1", "ingress")
                try f.pod.tc("filter", "add", "dev", "eth1", "ingress", "prio", "7", "u32", "match", "u32", "0", "0", "classid", "1:7")
                let takenOver = try deviceSnapshot(f, "eth1")
                // Detach undoes eth0's side only: eth1's was undone once, and it is not sandnet's any more.
                _ = try SandboxDetach.detach(sandbox: "hp", store: store, force: true)
                let after = try deviceSnapshot(f, "eth1")
                #expect(after == takenOver, "\(firstDifference(takenOver, after))")
                #expect(try f.pod.ipJSON("link", "show").compactMap { $0["ifname"] as? String } == ["lo", "eth0", "eth1"])
                let eth0After = try deviceSnapshot(f, "eth0")
                #expect(eth0After == eth0Before, "\(firstDifference(eth0Before, eth0After))")
            }
        }

        @Test(.enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"), arguments: models)
        func aDeletedAttachedEndpointIsForgottenAndItsPortTakesAPlug(_ model: NetworkModel) throws {
            try withTwoAttached(model) { f, store, _, eth0Before, _ in
                // CNI DEL then ADD of another network under the same name: a new link, other addresses.
                try f.pod.ip("link", "del", "eth1")
                try f.addEndpoint("eth1", .veth, number: 2)
                try f.configure("eth1", number: 2)
                _ = try f.snapshot() // settled (no tentative addresses)
                let newEthOne = try deviceSnapshot(f, "eth1")
                try SandboxPlug.mark(sandbox: "hp", attachedEndpoint: "eth1", state: .unplugging, store: store)
                try SandboxPlug.unwire(sandbox: "hp", attachedEndpoint: "eth1", store: store)
                // The old eth1's addresses are not given to the new one.
                let now = try deviceSnapshot(f, "eth1")
                #expect(now == newEthOne, "\(firstDifference(newEthOne, now))")
                // The freed port carries the new link's plug.
                let p = try SandboxPlug.wire(PlugSettings(sandbox: "hp", endpoint: "eth1", model: model), store: store)
                p.closeDescriptors()
                #expect(p.rootPort.id == "sn-rp1")
                _ = try SandboxDetach.detach(sandbox: "hp", store: store, force: true)
                #expect(try deviceSnapshot(f, "eth1") == newEthOne)
                let eth0After = try deviceSnapshot(f, "eth0")
                #expect(eth0After == eth0Before, "\(firstDifference(eth0Before, eth0After))")
                #expect(try f.pod.ipJSON("link", "show").compactMap { $0["ifname"] as? String } == ["lo", "eth0", "eth1"])
            }
        }
    }
}
