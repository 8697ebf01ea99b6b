import SandnetCore

/// One guest NIC as QEMU sees it: a tap backend reached through inherited descriptors.
public struct QemuNIC: Sendable, Equatable, Codable {
    /// `-netdev` id (and, suffixed, the NIC's device id).
    public var id: String
    /// The MAC the guest NIC presents.
    public var mac: MACAddress
    /// One tap (or /dev/tapN) queue descriptor per queue pair, already open and
    /// inheritable in the process that execs QEMU.
    public var queueFDs: [Int32]
    /// One /dev/vhost-net descriptor per queue, or empty for userspace virtio.
    public var vhostFDs: [Int32]

    public init(id: String, mac: MACAddress, queueFDs: [Int32], vhostFDs: [Int32] = []) {
        self.id = id
        self.mac = mac
        self.queueFDs = queueFDs
        self.vhostFDs = vhostFDs
    }

    public var queues: Int { queueFDs.count }
    /// What the descriptors amount to; nil when they fit no layout (`QemuNetworkPlan` refuses such a NIC).
    public var layout: QueueLayout? { QueueLayout.of(queueFDs: queueFDs.count, vhostFDs: vhostFDs.count) }
    /// MSI-X vectors (see `QueueLayout.vectors`).
    public var vectors: Int { layout?.vectors ?? 2 * queues + 2 }
}

/// A NIC placed on its root port, with the arguments that create it.
public struct QemuNICPlacement: Sendable, Equatable, Codable {
    public var nic: QemuNIC
    public var rootPort: PCIeRootPort
    /// Slot of the NIC on the root port's secondary bus: always 0 (a root port has one).
    public var slot: Int { 0 }

    /// `-netdev tap,id=…,fds=a:b[,vhost=on,vhostfds=c:d]`
    public var netdevArgument: String {
        var s = "tap,id=\(nic.id),fds=\(nic.queueFDs.map(String.init).joined(separator: ":"))"
        if !nic.vhostFDs.isEmpty { s += ",vhost=on,vhostfds=\(nic.vhostFDs.map(String.init).joined(separator: ":"))" }
        return s
    }

    /// `-device virtio-net-pci,netdev=…,mac=…,mq=on,vectors=2N+2,bus=<root port>,addr=0x0`
    public var deviceArgument: String {
        "virtio-net-pci,id=\(nic.id)-nic,netdev=\(nic.id),mac=\(nic.mac),mq=on,vectors=\(nic.vectors),bus=\(rootPort.id),addr=0x\(slot)"
    }
}

/// Everything QEMU needs to attach a sandbox's NICs: the root ports, the NICs on them,
/// and the descriptors that must survive exec.
public struct QemuNetworkPlan: Sendable, Equatable, Codable {
    public var topology: PCIeTopology
    public var placements: [QemuNICPlacement]

    /// Puts NIC i on root port i and adds `sparePorts` empty ports for hotplug.
    public init(architecture: Architecture, nics: [QemuNIC], sparePorts: Int = 0) throws {
        var seen = Set<String>()
        for n in nics {
            guard !n.queueFDs.isEmpty else { throw QemuWiringError.invalidNIC(n.id, "it has no queue descriptors") }
            guard n.vhostFDs.isEmpty || n.vhostFDs.count == n.queueFDs.count else {
                throw QemuWiringError.invalidNIC(
                    n.id, "\(n.vhostFDs.count) vhost descriptors for \(n.queueFDs.count) queues; they must match")
            }
            guard n.layout != nil else {
                throw QemuWiringError.invalidNIC(n.id, "\(n.queueFDs.count) queues; a NIC takes \(QueueLayout.allowedQueues)")
            }
            guard !n.id.isEmpty, n.id.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }),
                n.id.first!.isLetter
            else {
                throw QemuWiringError.invalidNIC(n.id, "QEMU ids start with a letter and hold only letters, digits, '-', '_', '.'")
            }
            guard seen.insert(n.id).inserted else { throw QemuWiringError.invalidNIC(n.id, "the id is used twice") }
        }
        topology = try PCIeTopology(architecture: architecture, occupiedPorts: nics.count, sparePorts: sparePorts)
        placements = zip(nics, topology.occupiedPorts).map { QemuNICPlacement(nic: $0, rootPort: $1) }
    }

    /// Root ports first (a NIC's `bus=` must already exist), then each NIC's netdev and device.
    public var arguments: [String] {
        topology.arguments + placements.flatMap { ["-netdev", $0.netdevArgument, "-device", $0.deviceArgument] }
    }

    /// Every descriptor the arguments name; exactly these must be open in QEMU.
    public var inheritedFDs: [Int32] { placements.flatMap { $0.nic.queueFDs + $0.nic.vhostFDs } }
}

public enum QemuWiringError: Error, Equatable, CustomStringConvertible, Sendable {
    case invalidTopology(String)
    case invalidNIC(String, String)
    case exec(path: String, errno: Int32, reason: String)
    case invalidQueues(Int)

    public var description: String {
        switch self {
        case .invalidTopology(let r): return "cannot lay out the VM's PCIe topology: \(r)"
        case .invalidNIC(let id, let r): return "cannot wire NIC \(id) into QEMU: \(r)"
        case .exec(let path, _, let r): return "cannot exec \(path): \(r)"
        case .invalidQueues(let n):
            return "\(n) queues per NIC is not possible: a tap takes 1 to \(QueueLayout.maximumQueues) queues (--queues)"
        }
    }
}
