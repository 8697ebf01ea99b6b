import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// An open state directory that only the caller (root, on a node) can change: owned by the
/// caller's uid, not writable by group or others, reached without following a symlink
/// for itself, and with no ancestor another user could rename it from under. Files in it
/// are opened relative to this descriptor, so a path swapped after the check means nothing.
struct TrustedDirectory: ~Copyable {
    let fd: Int32
    let path: String

    private init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }
    deinit { close(fd) }

    /// Opens the directory at `path`; with `create`, makes it (0700) when missing. Without
    /// `create`, a missing directory is nil.
    static func open(_ path: String, create: Bool) throws -> TrustedDirectory? {
        let url = URL(fileURLWithPath: path)
        let name = url.lastPathComponent
        guard !name.isEmpty, name != "/", name != ".", name != ".." else {
            throw SandboxError.untrustedState(path, "is not a directory sandnet can own", fix: "give a directory path such as /run/sandnet")
        }
        let parent = url.deletingLastPathComponent().path
        guard let real = realpath(parent, nil) else {
            if errno == ENOENT && !create { return nil }
            throw SandboxError.stateDirectory(parent, errno: errno)
        }
        let realParent = String(cString: real)
        free(real)
        try checkAncestors(of: realParent, for: path)
        let parentFD = Glibc.open(realParent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard parentFD >= 0 else { throw SandboxError.stateDirectory(realParent, errno: errno) }
        defer { close(parentFD) }
        return try openChild(name, of: parentFD, path: path, create: create)
    }

    /// Opens the subdirectory `name` (e.g. `sandboxes`) under the same rules.
    func subdirectory(_ name: String, create: Bool) throws -> TrustedDirectory? {
        try Self.openChild(name, of: fd, path: "\(path)/\(name)", create: create)
    }

    private static func openChild(_ name: String, of parentFD: Int32, path: String, create: Bool) throws -> TrustedDirectory? {
        if create, mkdirat(parentFD, name, 0o700) != 0, errno != EEXIST { throw SandboxError.stateDirectory(path, errno: errno) }
        let fd = openat(parentFD, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            let e = errno
            if e == ENOENT && !create { return nil }
            var st = stat()
            if e == ELOOP || e == ENOTDIR, fstatat(parentFD, name, &st, AT_SYMLINK_NOFOLLOW) == 0 {
                throw SandboxError.untrustedState(path, FileTrust.kind(st), fix: "remove it and let sandnet make the directory")
            }
            throw SandboxError.stateDirectory(path, errno: e)
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let e = errno
            close(fd)
            throw SandboxError.stateDirectory(path, errno: e)
        }
        if let why = FileTrust.untrustedDirectory(st) {
            close(fd)
            throw SandboxError.untrustedState(
                path, why,
                fix: "remove \(path) (with whatever another user may have put in it) and let sandnet make it, or give another --state-dir")
        }
        return TrustedDirectory(fd: fd, path: path)
    }

    /// Every ancestor must be owned by the caller or root and not writable by others
    /// (sticky directories such as /tmp excepted: others cannot rename what is not theirs).
    private static func checkAncestors(of realParent: String, for path: String) throws {
        var dir = realParent
        while true {
            var st = stat()
            guard lstat(dir, &st) == 0 else { throw SandboxError.stateDirectory(dir, errno: errno) }
            let owner = st.st_uid == geteuid() || st.st_uid == 0
            let writable = st.st_mode & 0o022 != 0 && st.st_mode & S_ISVTX == 0
            if !owner || writable {
                let why = !owner ? "is inside \(dir), which is owned by uid \(st.st_uid)" : "is inside \(dir), which others can write to"
                throw SandboxError.untrustedState(
                    path, why, fix: "put the state directory under a directory only root can change, such as /run")
            }
            if dir == "/" { return }
            dir = URL(fileURLWithPath: dir).deletingLastPathComponent().path
        }
    }
}
