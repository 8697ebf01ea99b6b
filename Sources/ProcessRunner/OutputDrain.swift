#if canImport(Glibc)
    import Glibc
#endif

/// Reads a child's stdout and stderr together until both reach EOF and the child has
/// exited, in one poll(2) loop on the calling thread, bounded by a deadline.
struct OutputDrain {
    var stdout: [UInt8] = []
    var stderr: [UInt8] = []
    private var chunk = [UInt8](repeating: 0, count: 65_536)

    /// True when both pipes closed and the child exited before `deadline`.
    mutating func collect(
        stdout out: inout OwnedDescriptor, stderr err: inout OwnedDescriptor,
        exit pidfd: Int32, until deadline: ContinuousClock.Instant
    ) -> Bool {
        var exited = false
        while out.isOpen || err.isOpen || !exited {
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else { return false }
            // poll(2) skips negative descriptors: closed pipes and a seen exit drop out.
            var fds = [
                pollfd(fd: out.raw, events: Int16(POLLIN), revents: 0),
                pollfd(fd: err.raw, events: Int16(POLLIN), revents: 0),
                pollfd(fd: exited ? -1 : pidfd, events: Int16(POLLIN), revents: 0)
            ]
            let n = poll(&fds, 3, Self.milliseconds(remaining))
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            if fds[0].revents != 0 {
                let got = read(&out)
                stdout += got
            }
            if fds[1].revents != 0 {
                let got = read(&err)
                stderr += got
            }
            if fds[2].revents != 0 { exited = true }
        }
        return true
    }

    /// One read; EOF or an error closes the pipe.
    private mutating func read(_ fd: inout OwnedDescriptor) -> ArraySlice<UInt8> {
        let raw = fd.raw
        let n = chunk.withUnsafeMutableBytes { Glibc.read(raw, $0.baseAddress, $0.count) }
        if n > 0 { return chunk[0..<n] }
        if !(n < 0 && (errno == EINTR || errno == EAGAIN)) { fd.close() }
        return []
    }

    /// The remaining time for poll(2), rounded up so a short remainder does not spin.
    static func milliseconds(_ d: Duration) -> Int32 {
        let (seconds, attoseconds) = d.components
        let ms = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(clamping: max(ms, 0))
    }
}
