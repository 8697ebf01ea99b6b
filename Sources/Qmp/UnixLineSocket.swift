import CSandnetLinux
import Foundation
import NetlinkSocket

#if canImport(Glibc)
    import Glibc
#endif

/// A connected Unix stream socket read line by line, every read bounded by a deadline.
/// Shared by the QMP client and the guest channel sender. Owns its descriptor (CLOEXEC):
/// non-copyable, closed exactly once.
public struct UnixLineSocket: ~Copyable, Sendable {
    public let path: String
    private let socket: FileDescriptor
    private var buffer = QmpLineBuffer()

    /// Why a socket operation failed, without the caller's context (the caller adds it).
    public enum Failure: Error, Sendable, Equatable {
        /// A system call failed with errno.
        case system(operation: String, errno: Int32)
        /// The other end closed (end of file, EPIPE, ECONNRESET).
        case closedByPeer
        /// Nothing complete arrived before the deadline.
        case timedOut
        /// The peer sent something that is not a line we accept.
        case badLine(QmpDecodingError)
    }

    /// Connects to the listening socket at `path`. A line longer than `maximumLineLength`
    /// is refused (`.badLine`) rather than buffered: a peer cannot make this side hold more.
    public init(connectingTo path: String, maximumLineLength: Int = QmpLineBuffer.defaultMaximumLineLength) throws(Failure) {
        let fd = sandnet_unix_connect(path)
        guard fd >= 0 else { throw .system(operation: "connect", errno: errno) }
        self.path = path
        self.socket = FileDescriptor(fd)
        self.buffer = QmpLineBuffer(maximumLineLength: maximumLineLength)
    }

    /// The descriptor, for polling; still owned here.
    public var descriptor: Int32 { socket.rawValue }

    /// Writes all of `data`; `passing`, when given, travels with the first byte as SCM_RIGHTS.
    public func send(_ data: Data, passing descriptor: Int32? = nil) throws(Failure) {
        var offset = 0
        var pass = descriptor ?? -1
        while offset < data.count {
            let n = data.withUnsafeBytes { raw in
                sandnet_send_with_fd(socket.rawValue, raw.baseAddress! + offset, raw.count - offset, pass)
            }
            if n < 0 {
                let e = errno
                if e == EAGAIN { continue }
                if e == EPIPE || e == ECONNRESET { throw .closedByPeer }
                throw .system(operation: pass >= 0 ? "sendmsg with SCM_RIGHTS" : "send", errno: e)
            }
            offset += n
            pass = -1
        }
    }

    /// The next line (line end removed), waiting until `deadline` at most.
    public mutating func readLine(until deadline: ContinuousClock.Instant) throws(Failure) -> Data {
        while true {
            do {
                if let line = try buffer.nextLine() { return line }
            } catch {
                throw .badLine(error)
            }
            try fill(until: deadline)
        }
    }

    /// A line that is already complete, without waiting for one.
    public mutating func bufferedLine() throws(Failure) -> Data? {
        do { return try buffer.nextLine() } catch { throw .badLine(error) }
    }

    /// One poll and one read: appends what arrived, throws on timeout or end of file.
    private mutating func fill(until deadline: ContinuousClock.Instant) throws(Failure) {
        var pfd = pollfd(fd: socket.rawValue, events: Int16(POLLIN), revents: 0)
        while true {
            let left = ContinuousClock.now.duration(to: deadline)
            if left <= .zero { throw .timedOut }
            let ms = Int32(clamping: left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000 + 1)
            let r = poll(&pfd, 1, ms)
            if r < 0 {
                if errno == EINTR { continue }
                throw .system(operation: "poll", errno: errno)
            }
            if r > 0 { break }
        }
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(socket.rawValue, $0.baseAddress, $0.count, 0) }
        if n < 0 {
            let e = errno
            if e == EINTR || e == EAGAIN { return }
            if e == ECONNRESET { throw .closedByPeer }
            throw .system(operation: "recv", errno: e)
        }
        if n == 0 { throw .closedByPeer }
        buffer.append(chunk[..<n])
    }

    /// Closes now (the same as letting this value go).
    public consuming func close() {}
}
