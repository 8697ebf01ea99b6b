import Foundation

/// One device from `query-pci`, with the buses behind bridges flattened in.
public struct QmpPciDevice: Sendable, Equatable {
    public var bus: Int
    public var slot: Int
    public var function: Int
    /// The QEMU id (`-device …,id=`), empty for devices without one.
    public var qdevID: String
    public var vendorID: Int
    public var deviceID: Int
    public var classCode: Int
    /// For a bridge or root port: its secondary bus number (0 until firmware numbers it).
    public var secondaryBus: Int?

    /// `bus:slot.function` in hex, as lspci prints it (`01:00.0`).
    public var address: String {
        String(format: "%02x:%02x.%x", bus, slot, function)
    }
}

extension QmpClient {
    /// Every PCI device QEMU models, on every bus. Devices behind a root port appear only
    /// once firmware or the guest has given the port a bus number.
    public func pciDevices(timeout: Duration = QmpClient.defaultTimeout) throws(QmpClientError) -> [QmpPciDevice] {
        let r = try execute("query-pci", timeout: timeout)
        guard let buses = r.arrayValue else { throw .unexpectedReply(command: "query-pci", detail: "not an array") }
        var out: [QmpPciDevice] = []
        for bus in buses { Self.collect(bus["devices"]?.arrayValue ?? [], into: &out) }
        return out
    }

    private static func collect(_ devices: [JSONValue], into out: inout [QmpPciDevice]) {
        for d in devices {
            let bridge = d["pci_bridge"]
            out.append(
                QmpPciDevice(
                    bus: Int(d["bus"]?.intValue ?? -1), slot: Int(d["slot"]?.intValue ?? -1), function: Int(d["function"]?.intValue ?? -1),
                    qdevID: d["qdev_id"]?.stringValue ?? "", vendorID: Int(d["id"]?["vendor"]?.intValue ?? 0),
                    deviceID: Int(d["id"]?["device"]?.intValue ?? 0), classCode: Int(d["class_info"]?["class"]?.intValue ?? 0),
                    secondaryBus: bridge?["bus"]?["secondary"]?.intValue.map(Int.init)))
            if let inner = bridge?["devices"]?.arrayValue { collect(inner, into: &out) }
        }
    }
}
