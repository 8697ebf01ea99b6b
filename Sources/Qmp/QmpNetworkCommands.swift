import Foundation
import SandnetCore

/// A tap backend for `netdev_add`: queue descriptors and vhost descriptors QEMU already
/// holds under the names `getfd` gave them.
public struct QmpTapNetdev: Sendable, Equatable {
    public var id: String
    /// One `getfd` name per queue, in queue order.
    public var queueFdNames: [String]
    /// One `getfd` name per queue for /dev/vhost-net; empty for no vhost.
    public var vhostFdNames: [String]

    public init(id: String, queueFdNames: [String], vhostFdNames: [String] = []) {
        self.id = id
        self.queueFdNames = queueFdNames
        self.vhostFdNames = vhostFdNames
    }

    /// `netdev_add`'s arguments: type tap, `fds=a:b`, and `vhost=on` with `vhostfds=c:d` when given.
    public var arguments: [String: JSONValue] {
        var a: [String: JSONValue] = ["type": "tap", "id": .string(id), "fds": .string(queueFdNames.joined(separator: ":"))]
        if !vhostFdNames.isEmpty {
            a["vhost"] = true
            a["vhostfds"] = .string(vhostFdNames.joined(separator: ":"))
        }
        return a
    }
}

/// A `virtio-net-pci` NIC for `device_add`, the way sandnet cold-plugs them (QemuWiring):
/// no option ROM, multiqueue when there is more than one queue, 2×queues+2 MSI-X vectors.
public struct QmpVirtioNetDevice: Sendable, Equatable {
    public var id: String
    public var netdev: String
    public var mac: MACAddress
    /// The QEMU id of the root port it goes behind (`sn-rp2`).
    public var bus: String
    /// Slot.function on that bus; a root port has one slot, `0x0`.
    public var address: String
    public var queues: Int

    public init(id: String, netdev: String, mac: MACAddress, bus: String, address: String = "0x0", queues: Int) {
        self.id = id
        self.netdev = netdev
        self.mac = mac
        self.bus = bus
        self.address = address
        self.queues = queues
    }

    public var arguments: [String: JSONValue] {
        var a: [String: JSONValue] = [
            "driver": "virtio-net-pci", "id": .string(id), "netdev": .string(netdev), "mac": .string(mac.description),
            "bus": .string(bus), "addr": .string(address), "romfile": ""
        ]
        if queues > 1 {
            a["mq"] = "on"
            a["vectors"] = .int(Int64(2 * queues + 2))
        }
        return a
    }
}

extension QmpClient {
    /// Hands QEMU `descriptor` (SCM_RIGHTS) under `name`; QEMU keeps its own copy, so the
    /// caller still owns and closes `descriptor`. A name in use is replaced by QEMU.
    public func getfd(name: String, descriptor: Int32, timeout: Duration = QmpClient.defaultTimeout) throws(QmpClientError) {
        try execute("getfd", arguments: ["fdname": .string(name)], passing: descriptor, timeout: timeout)
    }

    /// Closes QEMU's copy of the descriptor named `name` (one `netdev_add` did not consume).
    public func closefd(name: String, timeout: Duration = QmpClient.defaultTimeout) throws(QmpClientError) {
        try execute("closefd", arguments: ["fdname": .string(name)], timeout: timeout)
    }

    public func netdevAdd(_ netdev: QmpTapNetdev, timeout: Duration = QmpClient.defaultTimeout) throws(QmpClientError) {
        try execute("netdev_add", arguments: netdev.arguments, timeout: timeout)
    }

    public func netdevDel(id: String, timeout: Duration = QmpClient.defaultTimeout) throws(QmpClientError) {
        try execute("netdev_del", arguments: ["id": .string(id)], timeout: timeout)
    }

    public func deviceAdd(_ device: QmpVirtioNetDevice, timeout: Duration = QmpClient.defaultTimeout) throws(QmpClientError) {
        try execute("device_add", arguments: device.arguments, timeout: timeout)
    }

    /// Asks for the device's removal. For PCIe native hotplug QEMU only starts it: the guest
    /// must acknowledge (`waitForDeviceDeleted`), and a second request while one is pending fails.
    public func deviceDel(id: String, timeout: Duration = QmpClient.defaultTimeout) throws(QmpClientError) {
        try execute("device_del", arguments: ["id": .string(id)], timeout: timeout)
    }

    /// Waits for `DEVICE_DELETED` of the device `id` (the event QEMU sends when the guest let
    /// go and the device is gone); `.timedOut` when the guest did not within `timeout`.
    @discardableResult
    public func waitForDeviceDeleted(id: String, timeout: Duration) throws(QmpClientError) -> QmpEvent {
        try waitForEvent("DEVICE_DELETED", timeout: timeout) { $0.data["device"]?.stringValue == id }
    }

    /// The ids of the devices added with an id (`-device …,id=` or `device_add`), from
    /// `qom-list /machine/peripheral`: what exists in QEMU now, whether or not firmware
    /// or the guest has enumerated it.
    public func peripheralDeviceIDs(timeout: Duration = QmpClient.defaultTimeout) throws(QmpClientError) -> [String: String] {
        let r = try execute("qom-list", arguments: ["path": "/machine/peripheral"], timeout: timeout)
        guard let entries = r.arrayValue else { throw .unexpectedReply(command: "qom-list", detail: "not an array") }
        var out: [String: String] = [:]
        for e in entries {
            guard let name = e["name"]?.stringValue, let type = e["type"]?.stringValue, type.hasPrefix("child<") else { continue }
            out[name] = String(type.dropFirst(6).dropLast())
        }
        return out
    }

    /// `query-status`: whether the VM runs, and its run state (`running`, `prelaunch`, `paused`).
    public func runState(timeout: Duration = QmpClient.defaultTimeout) throws(QmpClientError) -> (running: Bool, status: String) {
        let r = try execute("query-status", timeout: timeout)
        guard let running = r["running"]?.boolValue, let status = r["status"]?.stringValue else {
            throw .unexpectedReply(command: "query-status", detail: "no running/status")
        }
        return (running, status)
    }
}
