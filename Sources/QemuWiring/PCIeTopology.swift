import SandnetCore

/// One `pcie-root-port` on the root bus. Root ports are packed eight to a slot as
/// functions of one multifunction device (as libvirt does), so 16 ports take two slots
/// of `pcie.0` and leave the rest of the bus to the caller's own devices.
public struct PCIeRootPort: Sendable, Equatable, Codable {
    /// QEMU device id; a NIC names it as its `bus=`.
    public var id: String
    /// The bus the port sits on (`pcie.0`).
    public var bus: String
    /// Device (slot) number on the root bus.
    public var device: Int
    /// Function number within that device, 0...7.
    public var function: Int
    /// Chassis number; unique per port so each (chassis, slot) pair is unique.
    public var chassis: Int
    /// Physical slot number advertised in the port's slot capability.
    public var slot: Int
    /// Set on function 0 when more functions share its device number.
    public var multifunction: Bool
    /// Whether a sandbox NIC occupies the port at boot; false for spare (hotplug) ports.
    public var occupied: Bool

    /// `addr=` value: `0x10.0x1`.
    public var qemuAddress: String { "0x\(String(device, radix: 16)).0x\(String(function, radix: 16))" }
    /// Where the guest sees the port: `00:10.1` (bus 00 of domain 0000).
    public var guestAddress: String { "00:\(hex2(device)).\(function)" }

    /// `-device pcie-root-port,...` value.
    public var deviceArgument: String {
        var s = "pcie-root-port,id=\(id),bus=\(bus),chassis=\(chassis),slot=\(slot),addr=\(qemuAddress)"
        if multifunction { s += ",multifunction=on" }
        return s
    }
}

func hex2(_ v: Int) -> String { (v < 16 ? "0" : "") + String(v, radix: 16) }

/// The root ports of a sandbox VM: one per NIC, then the spare ones.
public struct PCIeTopology: Sendable, Equatable, Codable {
    /// At most this many NICs at boot (each on its own root port); spare ports come on top,
    /// up to `maximumRootPorts(for:)`.
    public static let maximumRootPorts = 16
    /// First device number on `pcie.0` used for root ports. q35 keeps 00.0 (host bridge),
    /// 01.0 (VGA) and 1f.x (ICH9); virt keeps 00.0. 0x10 is clear of both.
    public static let defaultFirstDevice = 0x10

    /// How many root ports this layout fits on the machine's `pcie.0` (QEMU 7.2 checked:
    /// `QemuAcceptsTopologyTests`). Eight functions per device, devices from `firstDevice`
    /// up to 0x1e on q35 (0x1f is the ICH9 LPC/SATA/SMBus device: QEMU refuses a port
    /// there) and to 0x1f on virt. QEMU's other limits are further away: `chassis` is a
    /// uint8 (1...255 used), `slot` a uint16, and each port takes one of the 255 bus
    /// numbers below bus 0.
    public static func maximumRootPorts(for architecture: Architecture, firstDevice: Int = defaultFirstDevice) -> Int {
        let lastDevice = architecture == .x86_64 ? 0x1e : 0x1f
        return max(0, lastDevice - firstDevice + 1) * 8
    }

    public var architecture: Architecture
    public var rootPorts: [PCIeRootPort]

    /// `occupiedPorts` NICs each get a port; `sparePorts` more are added for hotplug. A total
    /// beyond what the machine takes is refused, never silently cut.
    public init(
        architecture: Architecture, occupiedPorts: Int, sparePorts: Int,
        idPrefix: String = "sn-rp", firstDevice: Int = PCIeTopology.defaultFirstDevice
    ) throws {
        guard occupiedPorts >= 0, sparePorts >= 0 else {
            throw QemuWiringError.invalidTopology("port counts cannot be negative (\(occupiedPorts) NICs, \(sparePorts) spare)")
        }
        guard occupiedPorts <= Self.maximumRootPorts else {
            throw QemuWiringError.invalidTopology(
                "\(occupiedPorts) NICs need \(occupiedPorts) PCIe root ports; at most \(Self.maximumRootPorts) are supported")
        }
        guard firstDevice > 0, firstDevice <= 0x1f else {
            throw QemuWiringError.invalidTopology("root ports cannot start at device 0x\(String(firstDevice, radix: 16)) of pcie.0")
        }
        let limit = Self.maximumRootPorts(for: architecture, firstDevice: firstDevice)
        let total = occupiedPorts + sparePorts
        guard total <= limit else {
            throw QemuWiringError.invalidTopology(
                "\(occupiedPorts) NICs and \(sparePorts) spare ports need \(total) PCIe root ports, but \(architecture.machineType) "
                    + "takes at most \(limit) (8 per device of pcie.0 from 0x\(String(firstDevice, radix: 16))); "
                    + "ask for at most \(max(0, limit - occupiedPorts)) spare ports")
        }
        self.architecture = architecture
        self.rootPorts = (0..<total).map { i in
            let device = firstDevice + i / 8
            let function = i % 8
            let sharesDevice = total > i - function + 1
            return PCIeRootPort(
                id: "\(idPrefix)\(i)", bus: architecture.rootBus, device: device, function: function,
                chassis: i + 1, slot: i + 1, multifunction: function == 0 && sharesDevice,
                occupied: i < occupiedPorts)
        }
    }

    public var occupiedPorts: [PCIeRootPort] { rootPorts.filter(\.occupied) }
    public var sparePorts: [PCIeRootPort] { rootPorts.filter { !$0.occupied } }

    /// `-device pcie-root-port,...` pairs for every port, in order.
    public var arguments: [String] { rootPorts.flatMap { ["-device", $0.deviceArgument] } }
}
