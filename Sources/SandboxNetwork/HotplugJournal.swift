import QemuWiring
import SandnetCore
import TapDevices

/// One PCIe root port of the sandbox VM as the journal keeps it: where QEMU has it and
/// which endpoint's NIC sits on it now.
public struct RootPortRecord: Codable, Equatable, Sendable {
    /// QEMU id (`bus=` of the NIC on it).
    public var id: String
    /// `00:10.1`: where the guest sees the port.
    public var guestAddress: String
    /// The endpoint whose NIC is on the port; nil when the port is free.
    public var endpoint: String?

    public init(id: String, guestAddress: String, endpoint: String? = nil) {
        self.id = id
        self.guestAddress = guestAddress
        self.endpoint = endpoint
    }
}

/// An endpoint wired into a running sandbox by `plug`, with the host-side steps that
/// undo it alone (journaled before each change, as attach's).
public struct PluggedEndpoint: Codable, Equatable, Sendable {
    /// How far the plug got: the host side, then QEMU, and back.
    public enum State: String, Codable, Sendable {
        /// Host side being made (a kill here: undo the steps).
        case wiring
        /// Host side made; QEMU does not have the NIC (yet, or any more).
        case wired
        /// `device_add` succeeded: the guest has the NIC.
        case inGuest
        /// `device_del` sent; QEMU's DEVICE_DELETED not seen yet.
        case unplugging
    }

    public var endpoint: String
    public var ifindex: Int32
    public var model: NetworkModel
    /// The tap or macvtap made for it.
    public var device: String?
    public var rootPort: String
    /// Netdev id in QEMU (the device is `<nicID>-nic`).
    public var nicID: String
    public var guestMAC: MACAddress?
    public var queues: Int
    public var vhost: Bool
    /// The macvtap's character device, also listed in the journal's `queueDevices`.
    public var queueDevice: DeviceNumber?
    public var state: State
    public var steps: [JournalStep]

    public init(endpoint: String, ifindex: Int32, model: NetworkModel, rootPort: String, nicID: String, queues: Int) {
        self.endpoint = endpoint
        self.ifindex = ifindex
        self.model = model
        self.rootPort = rootPort
        self.nicID = nicID
        self.queues = queues
        vhost = false
        state = .wiring
        steps = []
    }
}

extension SandboxJournal {
    /// The attach's steps (but those of NICs hot-unplugged since), then each plug's, oldest
    /// first: undoing them newest first takes the plugs back before the attach.
    var allHostSteps: [JournalStep] { attachStepsStillMade + (plugged ?? []).flatMap(\.steps) }

    /// The first root port no endpoint uses, with its position.
    var freeRootPort: (index: Int, port: RootPortRecord)? {
        guard let ports = rootPorts, let i = ports.firstIndex(where: { $0.endpoint == nil }) else { return nil }
        return (i, ports[i])
    }

    /// The root-port records of a topology with NIC k on port k for the k-th of `nicEndpoints`.
    static func rootPortRecords(_ topology: PCIeTopology, nicEndpoints: [String]) -> [RootPortRecord] {
        topology.rootPorts.enumerated().map { i, p in
            RootPortRecord(id: p.id, guestAddress: p.guestAddress, endpoint: i < nicEndpoints.count ? nicEndpoints[i] : nil)
        }
    }
}
