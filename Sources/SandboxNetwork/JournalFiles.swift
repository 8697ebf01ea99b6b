import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Journal files, opened relative to the checked `sandboxes` directory and never through a
/// symlink.
extension JournalStore {
    /// The state directory, checked (see `TrustedDirectory`); nil when missing and not `create`.
    func stateDirectory(create: Bool) throws -> TrustedDirectory? { try TrustedDirectory.open(directory, create: create) }

    /// `sandboxes/` of the state directory, checked; nil when either is missing and not `create`.
    func journalDirectory(create: Bool) throws -> TrustedDirectory? {
        guard let state = try stateDirectory(create: create) else { return nil }
        return try state.subdirectory("sandboxes", create: create)
    }

    /// Writes `data` as `name` in `dir` atomically: a temporary file with an unpredictable
    /// name, created exclusively (O_EXCL, O_NOFOLLOW: nothing planted is followed or
    /// reused), fsync'd, then renamed over `name`.
    static func replace(_ name: String, in dir: borrowing TrustedDirectory, with data: Data) throws {
        let final = "\(dir.path)/\(name)"
        var temp = ""
        var fd: Int32 = -1
        for _ in 0..<8 {
            temp = "\(name).tmp.\(String(UInt64.random(in: 0...UInt64.max), radix: 16))"
            fd = openat(dir.fd, temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            if fd >= 0 || errno != EEXIST { break }
        }
        guard fd >= 0 else { throw SandboxError.journalIO(final, "create \(dir.path)/\(temp)", errno: errno) }
        // The mode is set, not left to the umask: readers refuse anything but 0600.
        let ok =
            fchmod(fd, 0o600) == 0
            && data.withUnsafeBytes { buf -> Bool in
                var off = 0
                while off < buf.count {
                    let n = Glibc.write(fd, buf.baseAddress! + off, buf.count - off)
                    if n <= 0 {
                        if n < 0 && errno == EINTR { continue }
                        return false
                    }
                    off += n
                }
                return fsync(fd) == 0
            }
        let writeErrno = errno
        close(fd)
        guard ok else {
            unlinkat(dir.fd, temp, 0)
            throw SandboxError.journalIO(final, "write", errno: writeErrno)
        }
        // The rename is what makes a write atomic against a killed process (SIGKILL between
        // any two kernel changes): readers see the old or the new journal, never a torn one.
        // The fsync of the file above keeps a disk-backed state directory from holding an
        // empty or torn file after a power loss. The directory is not fsync'd: losing the
        // rename to a power loss only leaves an older journal, and what any journal describes
        // (namespaces, links, qdiscs) does not survive a reboot either; on a normal host
        // /run is tmpfs and the journal goes with them.
        guard renameat(dir.fd, temp, dir.fd, name) == 0 else {
            let e = errno
            unlinkat(dir.fd, temp, 0)
            throw SandboxError.journalIO(final, "rename", errno: e)
        }
    }

    /// The contents of `name` in `dir`, nil when missing. Anything but a regular file owned
    /// by the caller with mode 0600 is refused with why.
    static func contents(of name: String, in dir: borrowing TrustedDirectory) throws -> Data? {
        let p = "\(dir.path)/\(name)"
        // O_NONBLOCK: a planted FIFO must not hang the open; it is refused below.
        let fd = openat(dir.fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        if fd < 0 {
            let e = errno
            if e == ENOENT { return nil }
            var st = stat()
            if e == ELOOP, fstatat(dir.fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 {
                throw SandboxError.journalNotAFile(p, kind: FileTrust.noun(st) ?? "a symbolic link")
            }
            throw SandboxError.journalIO(p, "open", errno: e)
        }
        defer { close(fd) }
        return try JournalFile.read(fd, path: p, trusted: true)
    }

    /// The names in `dir`, without `.` and `..`.
    static func names(in dir: borrowing TrustedDirectory) throws -> [String] {
        let copy = dup(dir.fd)
        guard copy >= 0, let d = fdopendir(copy) else {
            let e = errno
            if copy >= 0 { close(copy) }
            throw SandboxError.stateUnreadable(dir.path, errno: e)
        }
        defer { closedir(d) }
        rewinddir(d) // the copy shares its offset with `dir.fd`, which an earlier listing moved to the end
        var out: [String] = []
        while let entry = readdir(d) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            if name != "." && name != ".." { out.append(name) }
        }
        return out
    }
}
