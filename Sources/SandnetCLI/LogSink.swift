import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Where log lines go. Each line is written whole: records from several threads never interleave.
public struct LogSink: Sendable {
    let write: @Sendable (String) -> Void

    /// `write` gets one line, newline included.
    public init(_ write: @escaping @Sendable (String) -> Void) { self.write = write }

    /// File descriptor 2, unbuffered: a record is out before the process can be killed.
    public static let standardError = LogSink { line in
        stderrLock.withLock { _ in
            let bytes = Array(line.utf8)
            var off = 0
            while off < bytes.count {
                let n = bytes.withUnsafeBytes { Glibc.write(2, $0.baseAddress! + off, $0.count - off) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return } // stderr closed or full: logging must not fail the command
                off += n
            }
        }
    }
    private static let stderrLock = Mutex(())
}
