import Foundation
import NetlinkSocket
import SandboxNetwork
import SandnetCore
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

    func bootNIC(_ name: String, _ ifindex: Int32, _ state: AttachedNIC.State, at i: Int = 0) -> AttachedNIC {
        AttachedNIC(
            endpoint: name, ifindex: ifindex, netdev: "sn\(i)", device: "sn\(i)-nic", hostDevice: "sn1t\(i)", rootPort: "sn-rp\(i)",
            guestMAC: MACAddress("02:00:00:00:00:0\(i)")!, state: state)
    }

    @Test func aRemovedAttachedEndpointWithANICRecordIsUnplugged() {
        let a = R.actions(
            desired: [], attached: [eth0], plugged: [], qemuDevices: ["sn0-nic"], attachedNICs: [bootNIC("eth0", 2, .attached)])
        #expect(a == [.unplugAttached(endpoint: "eth0")])
        // Without a record (model none, an older journal) it is only logged.
        #expect(R.actions(desired: [], attached: [eth0], plugged: [], qemuDevices: ["sn0-nic"]) == [.keepAttached(endpoint: "eth0")])
    }

    @Test func anAttachedEndpointStillThereKeepsItsNIC() {
        let a = R.actions(
            desired: [.init(name: "eth0", ifindex: 2)], attached: [eth0], plugged: [], qemuDevices: ["sn0-nic"],
            attachedNICs: [bootNIC("eth0", 2, .attached)])
        #expect(a.isEmpty)
    }

    @Test func anInterruptedUnplugOfAnAttachedNICIsFinishedEvenIfTheEndpointIsBack() {
        // `sandnet unplug` killed after announcing the removal: finish it, never put it back.
        let a = R.actions(
            desired: [.init(name: "eth0", ifindex: 2)], attached: [eth0], plugged: [], qemuDevices: [],
            attachedNICs: [bootNIC("eth0", 2, .unplugging)])
        #expect(a == [.unplugAttached(endpoint: "eth0")])
    }

    @Test func anUnpluggedAttachedEndpointThatIsStillThereIsPluggedAgain() {
        // Its claim went with the unplug: it is a new endpoint to the watcher now.
        let a = R.actions(
            desired: [.init(name: "eth0", ifindex: 2)], attached: [], plugged: [], qemuDevices: [],
            attachedNICs: [bootNIC("eth0", 2, .unplugged)])
        #expect(a == [.plug(endpoint: "eth0")])
    }

    @Test func stepsOfOneAttachedEndpointAreSelectedByItsLinks() throws {
        // Two tcfilter endpoints, the second with an ingress limit through an ifb reached by a redirect.
        let steps: [JournalStep] = [
            .createLink(name: "sn1t0", kind: "tun", ifindex: 10),
            .addIngressQdisc(link: "eth0", ifindex: 2, added: true),
            .addRedirect(from: "eth0", to: "sn1t0", fromIndex: 2, toIndex: 10, priority: 1, handle: 1),
            .createLink(name: "sn1t1", kind: "tun", ifindex: 11),
            .setTxQueueLength(link: "eth1", ifindex: 3, original: 0, replacement: 1000),
            .addIngressQdisc(link: "eth1", ifindex: 3, added: true),
            .addRedirect(from: "eth1", to: "sn1t1", fromIndex: 3, toIndex: 11, priority: 1, handle: 1),
            .addIngressQdisc(link: "sn1t1", ifindex: 11, added: true),
            .addRedirect(from: "sn1t1", to: "eth1", fromIndex: 11, toIndex: 3, priority: 1, handle: 1),
            .createLink(name: "sn1i1", kind: "ifb", ifindex: 12),
            .addIngressQdisc(link: "sn1t1", ifindex: 11, added: true),
            .addRedirect(from: "sn1t1", to: "sn1i1", fromIndex: 11, toIndex: 12, priority: 1, handle: 2),
            .addRateQdisc(link: "sn1i1", ifindex: 12, handle: 0x534e_0000, added: true),
            .addIngressQdisc(link: "sn1t0", ifindex: 10, added: true),
            .addRedirect(from: "sn1t0", to: "eth0", fromIndex: 10, toIndex: 2, priority: 1, handle: 1)
        ]
        var j = SandboxJournal(
            sandbox: "s", namespacePath: "/run/netns/p", identity: NamespaceIdentity(device: 1, inode: 2), linkGroup: 0x534e_0001)
        j.steps = steps
        j.attachedNICs = [bootNIC("eth0", 2, .attached, at: 0), bootNIC("eth1", 3, .attached, at: 1)]
        #expect(j.attachStepIndexes(of: j.attachedNICs![0]) == [0, 1, 2, 13, 14])
        #expect(j.attachStepIndexes(of: j.attachedNICs![1]) == [3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
        // Once eth1's NIC is unplugged, detach undoes eth0's steps only.
        j.attachedNICs![1].state = .unplugged
        #expect(j.attachStepsStillMade == [steps[0], steps[1], steps[2], steps[13], steps[14]])
    }
}
