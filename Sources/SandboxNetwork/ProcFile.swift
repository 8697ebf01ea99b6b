#if canImport(Glibc)
    import Glibc
#endif

/// Small /proc files read with plain system calls: Foundation's String(contentsOfFile:)
/// and splitting into lines cost more than the read itself, and every attach reads two.
enum ProcFile {
    /// The whole of `path` (a /proc file: no size known in advance), or nil when it cannot be
    /// opened or read.
    static func bytes(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var out = [UInt8](repeating: 0, count: 4096)
        var filled = 0
        while true {
            if filled == out.count { out += [UInt8](repeating: 0, count: out.count) }
            let n = out.withUnsafeMutableBytes { read(fd, $0.baseAddress! + filled, $0.count - filled) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return nil }
            if n == 0 { return Array(out[..<filled]) }
            filled += n
        }
    }

    /// The value after `key` on its line of a `Key:\tvalue` file such as /proc/PID/status,
    /// spaces and tabs trimmed.
    static func field(_ key: String, in bytes: [UInt8]) -> Substring? {
        let text = String(decoding: bytes, as: UTF8.self)
        for line in text.split(separator: "\n") where line.hasPrefix(key) {
            return line.dropFirst(key.count).drop { $0 == " " || $0 == "\t" }.prefix { $0 != " " && $0 != "\t" }
        }
        return nil
    }
}
