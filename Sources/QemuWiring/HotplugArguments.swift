import SandnetCore

/// One argument value of a QMP command, typed as QEMU's schema wants it: `netdev_add`
/// is QAPI-typed (`vhost` is a JSON boolean, `fds` a string), so strings everywhere
/// would be refused.
public enum HotplugValue: Sendable, Equatable {
    case string(String)
    case bool(Bool)
    case int(Int)
}

/// The QMP arguments that hot-add one NIC onto a spare root port: the same NIC the boot
/// arguments (`QemuNICPlacement`) describe, with the descriptors named as `getfd` gave
/// them to QEMU instead of numbered as inherited.
public struct HotplugNIC: Sendable, Equatable {
    /// Netdev id; the device id is this with `-nic`, as at boot.
    public var id: String
    public var mac: MACAddress
    /// The root port's QEMU id (`bus=`).
    public var rootPort: String
    /// `getfd` names of the queue descriptors, one per queue pair.
    public var queueFDNames: [String]
    /// `getfd` names of the vhost-net descriptors: as many as queues, or none.
    public var vhostFDNames: [String]

    public init(id: String, mac: MACAddress, rootPort: String, queueFDNames: [String], vhostFDNames: [String]) {
        self.id = id
        self.mac = mac
        self.rootPort = rootPort
        self.queueFDNames = queueFDNames
        self.vhostFDNames = vhostFDNames
    }

    public var deviceID: String { "\(id)-nic" }
    public var queues: Int { queueFDNames.count }
    /// As at boot: one per RX and TX queue, one for config, one for the control queue.
    public var vectors: Int { 2 * queues + 2 }

    /// `getfd` names for NIC `id`: `<id>-q0…`, `<id>-v0…` (QEMU keeps them per monitor).
    public static func fdNames(id: String, queues: Int, vhost: Bool) -> (queues: [String], vhost: [String]) {
        ((0..<queues).map { "\(id)-q\($0)" }, vhost ? (0..<queues).map { "\(id)-v\($0)" } : [])
    }

    /// Checks what QEMU would refuse later, so a plug fails before anything is made.
    public func validate() throws {
        guard !queueFDNames.isEmpty else { throw QemuWiringError.invalidNIC(id, "it has no queue descriptors") }
        guard vhostFDNames.isEmpty || vhostFDNames.count == queueFDNames.count else {
            throw QemuWiringError.invalidNIC(
                id, "\(vhostFDNames.count) vhost descriptors for \(queueFDNames.count) queues; they must match")
        }
        guard let first = id.first, first.isLetter,
            id.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." })
        else {
            throw QemuWiringError.invalidNIC(id, "QEMU ids start with a letter and hold only letters, digits, '-', '_', '.'")
        }
    }

    /// `netdev_add`: `{"type":"tap","id":…,"fds":"a:b"[,"vhost":true,"vhostfds":"c:d"]}`.
    public var netdevAddArguments: [String: HotplugValue] {
        var a: [String: HotplugValue] = ["type": .string("tap"), "id": .string(id), "fds": .string(queueFDNames.joined(separator: ":"))]
        if !vhostFDNames.isEmpty {
            a["vhost"] = .bool(true)
            a["vhostfds"] = .string(vhostFDNames.joined(separator: ":"))
        }
        return a
    }

    /// `device_add virtio-net-pci` on the root port, slot 0, with no option ROM (nothing
    /// boots from a hot-added NIC, and the ROM file may not exist on the node).
    public var deviceAddArguments: [String: HotplugValue] {
        [
            "driver": .string("virtio-net-pci"), "id": .string(deviceID), "netdev": .string(id), "mac": .string(mac.description),
            "bus": .string(rootPort), "addr": .string("0x0"), "romfile": .string(""), "mq": .bool(true),
            "vectors": .int(vectors)
        ]
    }
}
