import CSandnetLinux

#if canImport(Glibc)
    import Glibc
#endif

/// Replaces the current process with QEMU so that the queue and vhost descriptors reach
/// it by inheritance, and nothing else does: every other descriptor above stderr is
/// closed, and the kept ones lose FD_CLOEXEC (sandnet opens everything CLOEXEC).
public enum QemuExec {
    /// Never returns on success. `arguments[0]` is argv[0]; `path` is looked up in PATH
    /// when it holds no slash.
    public static func exec(path: String, arguments: [String], keeping fds: [Int32]) throws -> Never {
        for fd in fds {
            let flags = fcntl(fd, F_GETFD)
            if flags < 0 || fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC) < 0 {
                throw QemuWiringError.exec(path: path, errno: errno, reason: "descriptor \(fd) for QEMU is not open")
            }
        }
        let keep = fds
        if keep.withUnsafeBufferPointer({ sandnet_close_range_except($0.baseAddress, Int32($0.count)) }) != 0 {
            throw QemuWiringError.exec(path: path, errno: errno, reason: "could not close the other descriptors")
        }
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        execvp(path, &argv)
        let e = errno
        for p in argv { free(p) }
        throw QemuWiringError.exec(path: path, errno: e, reason: String(cString: strerror(e)))
    }
}
