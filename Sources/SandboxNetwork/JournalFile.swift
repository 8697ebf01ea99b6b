import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Reads a journal file, saying what the path really is when it is no regular file
/// (a directory gave "read failed: EEXIST" before: the errno left over from mkdir).
enum JournalFile {
    /// The file's bytes; nil when nothing is at `path`.
    static func contents(_ path: String) throws -> Data? {
        // O_NONBLOCK: a FIFO planted there must not block the open.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        if fd < 0 {
            let e = errno
            if e == ENOENT { return nil }
            if e == ELOOP { throw SandboxError.journalNotAFile(path, kind: "a symbolic link") }
            throw SandboxError.journalIO(path, "open", errno: e)
        }
        defer { close(fd) }
        return try read(fd, path: path)
    }

    /// Reads the open journal `fd` to its end. A path that is no regular file says what it is;
    /// `trusted` also refuses one that is not the caller's 0600 file (the state directory's rule).
    static func read(_ fd: Int32, path: String, trusted: Bool = false) throws -> Data {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SandboxError.journalIO(path, "stat", errno: errno) }
        // Something else where a journal should be: say what it is (chown/chmod is no fix for it).
        if let noun = FileTrust.noun(st) { throw SandboxError.journalNotAFile(path, kind: noun) }
        if trusted, let why = FileTrust.untrustedFile(st) { throw SandboxError.untrustedJournal(path, why) }
        var data = Data()
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SandboxError.journalIO(path, "read", errno: errno)
            }
            if n == 0 { return data }
            data.append(contentsOf: chunk[0..<n])
        }
    }
}
