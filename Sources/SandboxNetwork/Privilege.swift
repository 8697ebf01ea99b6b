import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// What this process may do, checked before anything is touched so that an unprivileged
/// run is told what it lacks rather than the first EACCES it happens to meet.
enum Privilege {
    static let capNetAdmin = 12

    /// Whether CAP_NET_ADMIN is in this process's effective set (CapEff of
    /// /proc/self/status); nil when that cannot be read.
    static func hasNetAdmin() -> Bool? {
        guard let status = ProcFile.bytes("/proc/self/status"), let value = ProcFile.field("CapEff:", in: status),
            let mask = UInt64(value, radix: 16)
        else { return nil }
        return mask & (1 << UInt64(capNetAdmin)) != 0
    }

    /// Throws when `operation` cannot work for want of CAP_NET_ADMIN.
    static func requireNetAdmin(for operation: String) throws {
        if hasNetAdmin() == false { throw SandboxError.needsNetAdmin(operation: operation, uid: getuid()) }
    }
}
