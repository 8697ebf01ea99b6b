import Foundation
import NetlinkSocket
import SandnetCore
import TapDevices
import TestSupport
import Testing

@testable import Qmp

#if canImport(Glibc)
    import Glibc
#endif

/// The client against a real QEMU 7.2 (no guest, paused): negotiation, typed refusals,
/// descriptor passing of a real tap queue, a NIC hot-added behind a root port and removed.
@Suite(
    .enabled(if: PausedQemu.unavailableReason("qemu-system-x86_64") == nil, "\(PausedQemu.unavailableReason("qemu-system-x86_64") ?? "")"),
    .serialized)
struct QmpQemuTests {
    static let rootPort = "pcie-root-port,id=sn-rp0,bus=pcie.0,chassis=1,addr=0x10.0"

    @Test func negotiatesAndReportsRefusalsWithQemuWords() throws {
        let qemu = try PausedQemu(devices: [Self.rootPort])
        defer { qemu.stop() }
        let qmp = try qemu.connect()
        #expect(qmp.greeting.major >= 7)
        #expect(try qmp.runState() == (false, "prelaunch"))
        #expect(
            throws: QmpClientError.commandFailed(
                command: "no-such-command",
                error: QmpError(id: "sandnet-3", errorClass: "CommandNotFound", desc: "The command no-such-command has not been found"))
        ) {
            try qmp.execute("no-such-command")
        }
        do {
            try qmp.netdevDel(id: "never-added")
            Issue.record("netdev_del of an unknown id succeeded")
        } catch {
            #expect(error.qemuErrorClass == "DeviceNotFound" || error.qemuErrorClass == "GenericError")
            #expect("\(error)".hasPrefix("QEMU refused netdev_del: "))
        }
        // Still usable after refusals.
        #expect(try qmp.peripheralDeviceIDs()["sn-rp0"] == "pcie-root-port")
    }

    /// x86_64 `q35` and aarch64 `virt`: both put root ports on `pcie.0`.
    static let machines: [PausedQemu.Machine] = [.q35, .virt].filter { PausedQemu.unavailableReason($0.binary) == nil }

    @Test(.enabled(if: TestEnvironment.isRoot, "needs root for a tap"), arguments: machines)
    func hotAddsATapNicOnARootPortAndTimesOutWaitingForAGuestThatIsNotThere(_ machine: PausedQemu.Machine) throws {
        try TestNamespace.with(prefix: "snqmp") { ns in
            let queues = try TunTap.create(TapSpec(name: "sn-qmp0", queues: 2), in: ns.namespace)
            let qemu = try PausedQemu(machine: machine, devices: [Self.rootPort])
            defer { qemu.stop() }
            let qmp = try qemu.connect()
            for (i, fd) in queues.descriptors.enumerated() { try qmp.getfd(name: "sn-q\(i)", descriptor: fd) }
            // QEMU holds its own copies now: the tap has four queue descriptors open.
            #expect(try Self.tapQueueHolders(qemu.process.pid, ns: ns) == 2)
            try qmp.netdevAdd(QmpTapNetdev(id: "sn-nd0", queueFdNames: ["sn-q0", "sn-q1"]))
            // netdev_add took the named descriptors out of the monitor's table; a name nothing
            // used stays until closefd, which then drops QEMU's copy.
            #expect(throws: QmpClientError.self) { try qmp.closefd(name: "sn-q0") }
            try qmp.getfd(name: "sn-spare", descriptor: queues.descriptors[0])
            #expect(try Self.tapQueueHolders(qemu.process.pid, ns: ns) == 3)
            try qmp.closefd(name: "sn-spare")
            #expect(try Self.tapQueueHolders(qemu.process.pid, ns: ns) == 2)
            let mac = try #require(MACAddress("02:5e:10:00:00:07"))
            try qmp.deviceAdd(QmpVirtioNetDevice(id: "sn-nic0", netdev: "sn-nd0", mac: mac, bus: "sn-rp0", queues: 2))
            #expect(try qmp.peripheralDeviceIDs()["sn-nic0"] == "virtio-net-pci")
            #expect(
                try qmp.execute("qom-get", arguments: ["path": "/machine/peripheral/sn-nic0", "property": "mac"])
                    == .string(mac.description))
            // A second NIC on the same port is refused, in QEMU's words.
            do {
                try qmp.deviceAdd(QmpVirtioNetDevice(id: "sn-nic9", netdev: "sn-nd0", mac: mac, bus: "sn-rp0", queues: 2))
                Issue.record("a second device_add on an occupied root port succeeded")
            } catch let error as QmpClientError {
                #expect(error.qemuErrorClass == "GenericError")
                #expect("\(error)".hasPrefix("QEMU refused device_add: "))
            }
            try qmp.deviceDel(id: "sn-nic0")
            switch machine {
            case .q35:
                // q35 (QEMU >= 6.1) hot-plugs root ports through ACPI: the unplug waits for the
                // guest's _EJ0, and no guest runs, so the bounded wait reports the timeout.
                let started = ContinuousClock.now
                #expect(throws: QmpClientError.timedOut(path: qemu.qmpPath, waitingFor: "event DEVICE_DELETED", seconds: 1.5)) {
                    try qmp.waitForDeviceDeleted(id: "sn-nic0", timeout: .milliseconds(1500))
                }
                #expect(ContinuousClock.now - started < .seconds(5))
                #expect(try qmp.peripheralDeviceIDs()["sn-nic0"] == "virtio-net-pci")
                // A second request while the first is pending is refused.
                #expect(throws: QmpClientError.self) { try qmp.deviceDel(id: "sn-nic0") }
            case .virt:
                // virt uses native PCIe hotplug, and a slot no guest has powered on is emptied at once.
                let event = try qmp.waitForDeviceDeleted(id: "sn-nic0", timeout: .seconds(5))
                #expect(event.data["path"] == "/machine/peripheral/sn-nic0")
                #expect(try qmp.peripheralDeviceIDs()["sn-nic0"] == nil)
            }
            try qmp.netdevDel(id: "sn-nd0")
        }
    }

    @Test(
        .enabled(if: TestEnvironment.isRoot, "needs root for a tap"),
        .enabled(if: VhostNet.isAvailable, "\(VhostNet.unavailableReason() ?? "")"))
    func vhostDescriptorsTravelByGetfdToo() throws {
        try TestNamespace.with(prefix: "snqmpv") { ns in
            let queues = try TunTap.create(TapSpec(name: "sn-qmpv0", queues: 2), in: ns.namespace)
            let vhost0 = try Self.openVhost()
            let vhost1 = try Self.openVhost()
            let qemu = try PausedQemu(devices: [Self.rootPort])
            defer { qemu.stop() }
            let qmp = try qemu.connect()
            for (i, fd) in queues.descriptors.enumerated() { try qmp.getfd(name: "sn-q\(i)", descriptor: fd) }
            try qmp.getfd(name: "sn-v0", descriptor: vhost0.rawValue)
            try qmp.getfd(name: "sn-v1", descriptor: vhost1.rawValue)
            try qmp.netdevAdd(QmpTapNetdev(id: "sn-nd0", queueFdNames: ["sn-q0", "sn-q1"], vhostFdNames: ["sn-v0", "sn-v1"]))
            let mac = try #require(MACAddress("02:5e:10:00:00:08"))
            try qmp.deviceAdd(QmpVirtioNetDevice(id: "sn-nic0", netdev: "sn-nd0", mac: mac, bus: "sn-rp0", queues: 2))
            // netdev_add consumed the named descriptors: closefd finds none left under those names.
            #expect(throws: QmpClientError.self) { try qmp.closefd(name: "sn-v0") }
            // A name getfd gave but nothing used is QEMU's to close on request.
            try qmp.getfd(name: "sn-spare", descriptor: vhost0.rawValue)
            try qmp.closefd(name: "sn-spare")
            let info = try qmp.execute("human-monitor-command", arguments: ["command-line": "info network"])
            #expect(info.stringValue?.contains("sn-nd0") == true, "\(info)")
            print("info network with vhost: \(info.stringValue ?? "")")
        }
    }

    @Test func qemuGoingAwayIsAClearError() throws {
        let qemu = try PausedQemu(devices: [])
        defer { qemu.stop() }
        let qmp = try qemu.connect()
        qemu.process.kill()
        #expect(throws: QmpClientError.socketGone(path: qemu.qmpPath, waitingFor: "the reply to query-status")) { try qmp.runState() }
        qemu.stop()
        #expect(throws: QmpClientError.cannotConnect(path: qemu.qmpPath, errno: ENOENT)) { try QmpClient(path: qemu.qmpPath) }
    }

    static func openVhost() throws -> FileDescriptor {
        let fd = open(VhostNet.path, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { throw TestFailure("open \(VhostNet.path): errno \(errno)") }
        return FileDescriptor(fd)
    }

    /// How many of QEMU's descriptors are queues of a tap (`/proc/PID/fdinfo` says `iff:`).
    static func tapQueueHolders(_ pid: pid_t, ns: TestNamespace) throws -> Int {
        let dir = "/proc/\(pid)/fdinfo"
        return try FileManager.default.contentsOfDirectory(atPath: dir).filter { fd in
            (try? String(contentsOfFile: "\(dir)/\(fd)", encoding: .utf8))?.contains("iff:\tsn-qmp0") == true
        }.count
    }
}
