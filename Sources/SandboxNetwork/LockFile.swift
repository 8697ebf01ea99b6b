import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// An exclusive flock on a lock file of the state directory, held until this is dropped.
/// The holder writes its pid into the file, so a waiter that gives up can say who holds it.
/// gc removes lock files nobody holds; so after locking, the holder checks the path still
/// names the file it locked, and starts over when it does not.
struct LockFile: ~Copyable {
    let fd: Int32
    deinit { close(fd) }
    private init(fd: Int32) { self.fd = fd }

    /// Lets go of the lock now (the end of the holder's critical section).
    consuming func release() {}

    enum Outcome: ~Copyable {
        case locked(LockFile)
        case busy(holder: Int32?)
    }

    /// Takes the lock `name` in `dir`, waiting at most `limit` (forever when nil; not at
    /// all when zero). A symlink, or a file that is not the caller's regular 0600 file, is
    /// refused: never followed, never created through.
    static func acquire(_ name: String, in dir: borrowing TrustedDirectory, waiting limit: Duration?) throws -> Outcome {
        let p = "\(dir.path)/\(name)"
        let deadline = limit.map { ContinuousClock.now + $0 }
        while true {
            let fd = openat(dir.fd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0o600)
            if fd < 0 {
                let e = errno
                var st = stat()
                if e == ELOOP, fstatat(dir.fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 {
                    throw SandboxError.untrustedLock(p, FileTrust.kind(st))
                }
                throw SandboxError.journalIO(p, "open lock", errno: e)
            }
            var st = stat()
            guard fstat(fd, &st) == 0 else {
                let e = errno
                close(fd)
                throw SandboxError.journalIO(p, "stat lock", errno: e)
            }
            if let why = FileTrust.untrustedFile(st) {
                close(fd)
                throw SandboxError.untrustedLock(p, why)
            }
            if let deadline {
                while flock(fd, LOCK_EX | LOCK_NB) != 0 {
                    let e = errno
                    guard e == EWOULDBLOCK || e == EINTR else {
                        close(fd)
                        throw SandboxError.journalIO(p, "lock", errno: e)
                    }
                    if ContinuousClock.now >= deadline {
                        let holder = Self.holder(fd)
                        close(fd)
                        return .busy(holder: holder)
                    }
                    usleep(20_000)
                }
            } else {
                while flock(fd, LOCK_EX) != 0 {
                    if errno != EINTR {
                        let e = errno
                        close(fd)
                        throw SandboxError.journalIO(p, "lock", errno: e)
                    }
                }
            }
            var now = stat()
            guard fstatat(dir.fd, name, &now, AT_SYMLINK_NOFOLLOW) == 0, now.st_ino == st.st_ino, now.st_dev == st.st_dev else {
                close(fd) // removed (or replaced) between our open and our lock: take the new one
                continue
            }
            let pid = Array("\(getpid())\n".utf8)
            _ = ftruncate(fd, 0)
            _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress!, $0.count, 0) }
            return .locked(LockFile(fd: fd))
        }
    }

    /// The pid the holder wrote, if any.
    private static func holder(_ fd: Int32) -> Int32? {
        var buf = [UInt8](repeating: 0, count: 32)
        let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress!, $0.count, 0) }
        guard n > 0 else { return nil }
        return Int32(String(decoding: buf[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
