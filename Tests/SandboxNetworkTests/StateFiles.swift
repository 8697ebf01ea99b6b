import Foundation
import SandboxNetwork
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// Files planted in, and found in, a state directory by the trust and gc tests.
enum StateFiles {
    /// Makes `path` a directory with `mode` owned by `uid` (chmod after mkdir: umask).
    static func makeDirectory(_ path: String, mode: mode_t = 0o700, uid: uid_t = 0) throws {
        guard mkdir(path, mode) == 0 || errno == EEXIST, chmod(path, mode) == 0, chown(path, uid, uid) == 0 else {
            throw TestFailure("cannot make directory \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// Writes `data` to `path` with `mode`, owned by `uid`.
    static func write(_ data: Data, to path: String, mode: mode_t = 0o600, uid: uid_t = 0) throws {
        try data.write(to: URL(fileURLWithPath: path))
        guard chmod(path, mode) == 0, chown(path, uid, uid) == 0 else {
            throw TestFailure("cannot set owner and mode of \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// Every file under `root` (not directories), relative to it, sorted.
    static func files(under root: String) -> [String] {
        guard let e = FileManager.default.enumerator(atPath: root) else { return [] }
        var out: [String] = []
        while let p = e.nextObject() as? String {
            var st = stat()
            if lstat("\(root)/\(p)", &st) == 0, st.st_mode & S_IFMT != S_IFDIR { out.append(p) }
        }
        return out.sorted()
    }

    /// A path in /tmp that does not exist yet.
    static func freshPath(_ prefix: String) -> String {
        NSTemporaryDirectory() + "\(prefix)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    }

    /// The uid of user nobody.
    static let nobody: uid_t = 65534
}
