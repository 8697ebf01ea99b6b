import CSandnetLinux

#if canImport(Glibc)
    import Glibc
#endif

/// What an open file claimed to be a network namespace really is: setns on anything else
/// only says EINVAL. nsfs files (and bind mounts of them under /run/netns) are regular
/// files to fstat; the NS_GET_NSTYPE ioctl tells which namespace one is, and fails on a
/// file of any other file system.
enum NamespaceFileKind {
    /// NS_GET_NSTYPE, _IO(0xb7, 0x3) in <linux/nsfs.h>.
    static let getNamespaceType: UInt = 0xb703
    static let kinds: [Int32: String] = [
        0x0002_0000: "a mount", 0x0400_0000: "a UTS", 0x0800_0000: "an IPC", 0x1000_0000: "a user",
        0x2000_0000: "a PID", 0x0200_0000: "a cgroup", 0x0000_0080: "a time"
    ]

    /// Why the file open at `fd` is not a network namespace, or nil when it is one.
    static func notANetworkNamespace(_ fd: Int32) -> String? {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return "it cannot be examined: \(errnoText(errno))" }
        switch st.st_mode & S_IFMT {
        case S_IFREG:
            // Only regular files get the ioctl: on a device node the number could mean something else.
            let type = sandnet_ioctl_int(fd, getNamespaceType, 0)
            if type == sandnet_clone_newnet() { return nil }
            if type >= 0 { return "it is \(kinds[type] ?? "another kind of") namespace" }
            return st.st_size == 0
                ? "it is an empty regular file, as a name under /run/netns is once its namespace is unmounted"
                : "it is a regular file"
        case S_IFDIR: return "it is a directory"
        case S_IFCHR, S_IFBLK: return "it is a device node"
        case S_IFIFO: return "it is a FIFO"
        case S_IFSOCK: return "it is a socket"
        default: return "it is not a namespace file"
        }
    }
}
