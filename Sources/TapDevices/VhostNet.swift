import CSandnetLinux
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// /dev/vhost-net: lets the kernel move a tap's frames to and from the guest without QEMU.
public enum VhostNet {
    public static let path = "/dev/vhost-net"

    /// Opens the device and claims it (VHOST_SET_OWNER), as QEMU would. Nil when usable,
    /// else why not, with the kernel option that provides it.
    public static func unavailableReason() -> String? {
        let fd = open(path, O_RDWR | O_CLOEXEC)
        if fd < 0 {
            let e = errno
            return "cannot open \(path): \(String(cString: strerror(e))); the kernel lacks vhost-net (CONFIG_VHOST_NET, module vhost_net)"
        }
        defer { close(fd) }
        if sandnet_vhost_set_owner(fd) != 0 {
            return "VHOST_SET_OWNER on \(path) failed: \(String(cString: strerror(errno)))"
        }
        return nil
    }
    public static var isAvailable: Bool { unavailableReason() == nil }
}
