import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Why a change did not reach the guest, or the guest did not apply it.
public enum GuestChannelError: Error, Equatable, Sendable, CustomStringConvertible {
    case unsupportedVersion(Int)
    case malformed(reason: String, line: String)
    /// connect(2) to QEMU's chardev socket failed.
    case cannotConnect(path: String, errno: Int32)
    /// No acknowledgement of `op` for `interface` within `seconds`.
    case timedOut(path: String, op: String, interface: String, seconds: Double)
    /// QEMU closed the chardev socket before the acknowledgement came.
    case channelClosed(path: String, op: String, interface: String)
    /// The guest answered, but could not apply the change.
    case guestRefused(op: String, interface: String, reason: String)
    case system(operation: String, path: String, errno: Int32)

    public var description: String {
        switch self {
        case .unsupportedVersion(let v):
            return "guest channel version \(v) is not supported (this sandnet speaks version \(GuestChannelCodec.version))"
        case .malformed(let reason, let line):
            return "a guest channel line is malformed (\(reason)): \(line)"
        case .cannotConnect(let path, let e):
            let hint =
                e == ENOENT || e == ECONNREFUSED
                ? "; start QEMU with -chardev socket,id=sandnet0,path=\(path),server=on,wait=off and -device virtserialport,chardev=sandnet0,name=\(GuestChannelCodec.portName)"
                : ""
            return "cannot connect to the guest channel socket \(path): \(String(cString: strerror(e)))\(hint)"
        case .timedOut(let path, let op, let interface, let seconds):
            return
                "the guest did not acknowledge \(op) of \(interface) on \(path) within \(Int(seconds.rounded())) s: its agent is not reading \(GuestChannelCodec.portName), or it is still busy"
        case .channelClosed(let path, let op, let interface):
            return "the guest channel socket \(path) closed before the guest acknowledged \(op) of \(interface): QEMU exited"
        case .guestRefused(let op, let interface, let reason):
            return "the guest could not apply \(op) of \(interface): \(reason)"
        case .system(let operation, let path, let e):
            return "\(operation) on the guest channel socket \(path) failed: \(String(cString: strerror(e)))"
        }
    }
}
