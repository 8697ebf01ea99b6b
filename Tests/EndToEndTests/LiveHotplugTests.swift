import Foundation
import GuestLab
import NetlinkSocket
import Qmp
import SandboxNetwork
import SandnetCore
import TapDevices
import TestSupport
import Testing

/// The QMP client and the guest channel against a running Linux guest: a tap NIC is
/// hot-added behind a spare root port (getfd, netdev_add, device_add), the guest learns it
/// over the channel and answers ping on it, lets go of it (remove-interface), the device is
/// unplugged with the guest's acknowledgement (DEVICE_DELETED), and a late add-interface for
/// it is refused by the guest, which no longer has that NIC.
@Suite(.serialized, .enabled(if: TestEnvironment.isRoot, "needs root: a tap in a throwaway namespace"))
struct LiveHotplugTests {
    struct Outcome {
        var steps: [String] = []
        var failure: Error?
        var deviceDeletedSeconds: Double?
        var lateRefusal: String?
        var pinged = false
        var enumerated: QmpPciDevice?
    }

    func run(_ arch: Architecture) throws {
        let image = try #require(GuestImage.cached(arch))
        try TestNamespace.with(prefix: "snhp") { ns in
            let queues = try TunTap.create(TapSpec(name: "sn-hp0", queues: 1), in: ns.namespace)
            try ns.ip("link", "set", "sn-hp0", "up")
            try ns.ip("addr", "add", "203.0.113.1/24", "dev", "sn-hp0")
            let dir = "/run/sandnet-hp-\(getpid())-\(UInt16.random(in: 0...UInt16.max))"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let qmpPath = "\(dir)/qmp.sock"
            var boot = GuestBoot(
                image: image, networkArguments: [], inheritedFDs: [],
                guestDescription: try GuestDescription(sandbox: "hp", interfaces: []).encoded(), probeTargets: [])
            boot.channelSocket = "\(dir)/channel.sock"
            boot.channelChanges = 3
            boot.timeoutSeconds = 300
            boot.extraArguments = [
                "-qmp", "unix:\(qmpPath),server=on,wait=off", "-device", "pcie-root-port,id=sn-rp0,bus=pcie.0,chassis=1,addr=0x10.0"
            ]
            let mac = try #require(MACAddress("02:5e:10:00:00:42"))
            let interface = GuestInterface(
                name: "net1", mac: mac, mtu: 1500, addresses: [try #require(IPPrefix("203.0.113.2/24"))], routes: [], neighbours: [],
                pciRootPort: "sn-rp0", pciRootPortAddress: "00:10.0", pciSlot: "00.0", model: "tcfilter")
            var outcome = Outcome()
            var started = false
            let report = try GuestRunner.run(boot) { p in
                guard case .stage(let s) = p, s.hasPrefix("channel listening"), !started else { return }
                started = true
                do {
                    try hotplugCycle(
                        qmpPath: qmpPath, channel: GuestChannelSender(path: boot.channelSocket!), queue: queues.descriptors[0],
                        interface: interface, ns: ns, outcome: &outcome)
                } catch {
                    outcome.failure = error
                }
            }
            if let failure = outcome.failure { throw failure }
            let lines = report.console.filter { $0.contains("SANDNET-CHANNEL") }
            #expect(lines.count == 3, "\(lines)")
            #expect(lines.first?.contains("status=ok name=net1 addrs=203.0.113.2/24") == true, "\(lines)")
            #expect(outcome.pinged)
            #expect(outcome.enumerated?.vendorID == 0x1af4)
            #expect((outcome.enumerated?.bus ?? 0) > 0, "\(String(describing: outcome.enumerated))")
            #expect(outcome.lateRefusal?.contains("no NIC with MAC 02:5e:10:00:00:42") == true, "\(outcome.lateRefusal ?? "none")")
            let seconds = try #require(outcome.deviceDeletedSeconds)
            print(
                "live hotplug \(arch.unameMachine): \(outcome.steps.joined(separator: "; ")); DEVICE_DELETED after \(String(format: "%.2f", seconds)) s"
            )
        }
    }

    func hotplugCycle(
        qmpPath: String, channel: GuestChannelSender, queue: Int32, interface: GuestInterface, ns: TestNamespace, outcome: inout Outcome
    ) throws {
        let qmp = try QmpClient(path: qmpPath)
        defer { qmp.close() }
        try qmp.getfd(name: "sn-q0", descriptor: queue)
        try qmp.netdevAdd(QmpTapNetdev(id: "sn-nd0", queueFdNames: ["sn-q0"]))
        try qmp.deviceAdd(QmpVirtioNetDevice(id: "sn-nic0", netdev: "sn-nd0", mac: interface.mac, bus: "sn-rp0", queues: 1))
        let added = ContinuousClock.now
        try channel.send(.addInterface(interface), timeout: .seconds(60))
        outcome.steps.append("device_add to add-interface acknowledged \(String(format: "%.2f", seconds(ContinuousClock.now - added))) s")
        // The guest enumerated it: query-pci shows the NIC (virtio vendor 0x1af4) behind the port.
        outcome.enumerated = try enumeratedDevice("sn-nic0", qmp)
        // Traffic on the hot-added NIC: the namespace's end of the tap pings the guest's address.
        let ping = try TestEnvironment.run(
            ["ip", "netns", "exec", ns.name, "busybox", "ping", "-c", "2", "-W", "3", "203.0.113.2"], timeout: .seconds(30))
        outcome.pinged = ping.status == 0
        outcome.steps.append("ping \(ping.status == 0 ? "answered" : "failed: \(ping.stdout) \(ping.stderr)")")
        try channel.send(.removeInterface(name: interface.name, mac: interface.mac), timeout: .seconds(60))
        outcome.steps.append("remove-interface acknowledged")
        try qmp.deviceDel(id: "sn-nic0")
        let asked = ContinuousClock.now
        try qmp.waitForDeviceDeleted(id: "sn-nic0", timeout: .seconds(60))
        outcome.deviceDeletedSeconds = seconds(ContinuousClock.now - asked)
        try qmp.netdevDel(id: "sn-nd0")
        #expect(try qmp.peripheralDeviceIDs()["sn-nic0"] == nil)
        do {
            try channel.send(.addInterface(interface), timeout: .seconds(60))
        } catch GuestChannelError.guestRefused(_, _, let reason) {
            outcome.lateRefusal = reason
        }
    }

    static let x86Unavailable = ChannelImage.unavailableReason(.x86_64)
    static let armUnavailable = ChannelImage.unavailableReason(.arm64)

    @Test(.enabled(if: x86Unavailable == nil, "\(x86Unavailable ?? "")"))
    func x86_64GuestOnQ35() throws { try run(.x86_64) }

    @Test(.enabled(if: armUnavailable == nil, "\(armUnavailable ?? "")"))
    func aarch64GuestOnVirt() throws { try run(.arm64) }
}

private func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }

/// The device `id` as query-pci shows it, nil when firmware or the guest has not enumerated it.
private func enumeratedDevice(_ id: String, _ qmp: QmpClient) throws -> QmpPciDevice? {
    let all: [QmpPciDevice]
    do { all = try qmp.pciDevices() } catch { throw error }
    return all.first(where: { $0.qdevID == id })
}
