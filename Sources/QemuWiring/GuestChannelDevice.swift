import Foundation

/// The virtio-serial port of the guest channel (docs/guest-channel.md): QEMU listens on a
/// Unix socket that sandnet connects to; the guest opens the port by its name.
public enum GuestChannelDevice {
    public static let portName = "org.sandnet.guest.0"
    public static let chardevID = "sandnet0"

    /// `-device virtio-serial-pci`, the chardev socket (server, not waiting for a client) and the named port.
    public static func arguments(socketPath: String) -> [String] {
        [
            "-device", "virtio-serial-pci,id=sn-vser0",
            "-chardev", "socket,id=\(chardevID),path=\(socketPath.replacingOccurrences(of: ",", with: ",,")),server=on,wait=off",
            "-device", "virtserialport,chardev=\(chardevID),name=\(portName)"
        ]
    }
}
