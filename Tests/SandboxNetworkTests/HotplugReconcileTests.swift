import Foundation
import SandboxNetwork
import Testing

/// The watcher's reconcile step, case by case: desired endpoints, the journal's records
/// and QEMU's devices in, plug/unplug actions out.
@Suite struct HotplugReconcileTests {
    typealias R = HotplugReconcile
    let eth0 = EndpointClaim(name: "eth0", ifindex: 2)

    func record(_ name: String, _ ifindex: Int32, _ state: PluggedEndpoint.State, port: Int = 1) -> PluggedEndpoint {
        var p = PluggedEndpoint(
            endpoint: name, ifindex: ifindex, model: .tcfilter, rootPort: "sn-rp\(port)", nicID: "snp\(port)", queues: 1)
        p.state = state
        return p
    }

    @Test func aNewEndpointIsPlugged() {
        let a = R.actions(
            desired: [.init(name: "eth0", ifindex: 2), .init(name: "net1", ifindex: 7)], attached: [eth0], plugged: [], qemuDevices: [])
        #expect(a == [.plug(endpoint: "net1")])
    }

    @Test func aSteadyStateDoesNothing() {
        let a = R.actions(
            desired: [.init(name: "eth0", ifindex: 2), .init(name: "net1", ifindex: 7)], attached: [eth0],
            plugged: [record("net1", 7, .inGuest)], qemuDevices: ["snp1-nic"])
        #expect(a.isEmpty)
    }

    @Test func aRemovedEndpointIsUnplugged() {
        let a = R.actions(
            desired: [.init(name: "eth0", ifindex: 2)], attached: [eth0], plugged: [record("net1", 7, .inGuest)], qemuDevices: ["snp1-nic"])
        #expect(a == [.unplug(endpoint: "net1")])
    }

    @Test func aRecreatedEndpointWithTheSameNameIsReplaced() {
        // CNI DEL then ADD: same name, new link. Unplug the old NIC first (frees its port), then plug.
        let a = R.actions(
            desired: [.init(name: "eth0", ifindex: 2), .init(name: "net1", ifindex: 9)], attached: [eth0],
            plugged: [record("net1", 7, .inGuest)], qemuDevices: ["snp1-nic"])
        #expect(a == [.unplug(endpoint: "net1"), .plug(endpoint: "net1")])
    }

    @Test func aPlugKilledWhileWiringIsUndoneAndRetried() {
        let a = R.actions(
            desired: [.init(name: "net1", ifindex: 7)], attached: [], plugged: [record("net1", 7, .wiring)], qemuDevices: [])
        #expect(a == [.undoHost(endpoint: "net1"), .plug(endpoint: "net1")])
    }

    @Test func aPlugKilledBeforeDeviceAddIsUndone() {
        // Host side made, QEMU never got it, the endpoint has gone meanwhile.
        let a = R.actions(desired: [], attached: [], plugged: [record("net1", 7, .wired)], qemuDevices: [])
        #expect(a == [.undoHost(endpoint: "net1")])
    }

    @Test func aPlugKilledAfterDeviceAddCountsAsInTheGuest() {
        let a = R.actions(
            desired: [.init(name: "net1", ifindex: 7)], attached: [], plugged: [record("net1", 7, .wired)], qemuDevices: ["snp1-nic"])
        #expect(a.isEmpty)
    }

    @Test func anUnplugCutShortIsFinishedOrRetried() {
        // DEVICE_DELETED came (QEMU has no device) but netdev_del and the undo did not run.
        #expect(
            R.actions(desired: [], attached: [], plugged: [record("net1", 7, .unplugging)], qemuDevices: [])
                == [.finishUnplug(endpoint: "net1")])
        // The guest never let go (timeout): ask again.
        #expect(
            R.actions(desired: [], attached: [], plugged: [record("net1", 7, .unplugging)], qemuDevices: ["snp1-nic"])
                == [.unplug(endpoint: "net1")])
        // Never back into the guest once its removal was announced, even if wanted again.
        #expect(
            R.actions(desired: [.init(name: "net1", ifindex: 7)], attached: [], plugged: [record("net1", 7, .unplugging)], qemuDevices: [])
                == [.finishUnplug(endpoint: "net1"), .plug(endpoint: "net1")])
    }

    @Test func aDeviceQemuLostIsCleanedUpAndPluggedAgain() {
        let a = R.actions(desired: [.init(name: "net1", ifindex: 7)], attached: [], plugged: [record("net1", 7, .inGuest)], qemuDevices: [])
        #expect(a == [.finishUnplug(endpoint: "net1"), .plug(endpoint: "net1")])
    }

    @Test func withoutQemuTheJournalIsBelieved() {
        let a = R.actions(
            desired: [.init(name: "net1", ifindex: 7)], attached: [], plugged: [record("net1", 7, .inGuest)], qemuDevices: nil)
        #expect(a.isEmpty)
        #expect(
            R.actions(desired: [], attached: [], plugged: [record("net1", 7, .inGuest)], qemuDevices: nil) == [.unplug(endpoint: "net1")])
    }

    @Test func anAttachedEndpointThatWentIsKeptForDetach() {
        let a = R.actions(desired: [], attached: [eth0], plugged: [], qemuDevices: [])
        #expect(a == [.keepAttached(endpoint: "eth0")])
    }

    @Test func cleanupsComeBeforePlugsAndEachGroupIsOrdered() {
        let a = R.actions(
            desired: [.init(name: "net3", ifindex: 13), .init(name: "net2", ifindex: 12)], attached: [],
            plugged: [record("net9", 19, .inGuest, port: 2), record("net1", 11, .inGuest, port: 1)], qemuDevices: ["snp1-nic", "snp2-nic"])
        #expect(a == [.unplug(endpoint: "net1"), .unplug(endpoint: "net9"), .plug(endpoint: "net2"), .plug(endpoint: "net3")])
    }

    @Test func formatOneJournalsReadWithNoPortsAndNothingPlugged() throws {
        let json = """
            {"format":1,"sandbox":"old","namespacePath":"/run/netns/pod","namespaceDevice":4,"namespaceInode":4026532300,
             "linkGroup":1397620737,"state":"attached","steps":[]}
            """
        let j = try JSONDecoder().decode(SandboxJournal.self, from: Data(json.utf8))
        #expect(j.rootPorts == nil && j.plugged == nil && j.attachedEndpoints.isEmpty)
        #expect(SandboxJournal.readableFormats.contains(1) && SandboxJournal.formatVersion == 2)
    }
}
