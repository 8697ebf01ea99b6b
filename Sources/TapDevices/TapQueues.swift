import CSandnetLinux
import Foundation
import NetlinkSocket

#if canImport(Glibc)
    import Glibc
#endif

/// The open queue descriptors of one tap or macvtap device. Each descriptor is one queue:
/// a frame written to it enters the kernel as if received on the device, a frame the
/// device transmits can be read from one of them.
///
/// Non-copyable: this value owns the descriptors, so each is closed exactly once (when
/// the value goes away, or by `close()`) or handed over exactly once (`takeDescriptors()`).
/// Descriptors are CLOEXEC unless asked otherwise; call `allowInheritance()` right before
/// handing them to QEMU.
public struct TapQueues: ~Copyable, Sendable {
    public let name: String
    public let index: Int32
    /// The character device the queues were opened from (macvtap), nil for tun/tap.
    public let devicePath: String?
    /// Owned here; emptied when handed over.
    private var owned: [Int32]

    /// Takes ownership of `descriptors`, open queues of the device `name`.
    public init(name: String, index: Int32, devicePath: String?, descriptors: [Int32]) {
        self.name = name
        self.index = index
        self.devicePath = devicePath
        self.owned = descriptors
    }

    deinit { for fd in owned { _ = Glibc.close(fd) } }

    public var count: Int { owned.count }

    /// The queue descriptor numbers, to poll or inspect. Still owned here: do not close
    /// them, and do not use them after this value is gone.
    public var descriptors: [Int32] { owned }

    /// Clears FD_CLOEXEC on every queue so a child process (QEMU) inherits them.
    public func allowInheritance() throws {
        for fd in owned where fcntl(fd, F_SETFD, 0) != 0 {
            throw NetlinkError.system(operation: "clear close-on-exec on queue of", object: name, errno: errno)
        }
    }

    /// Hands the descriptors to the caller, who must close them (or pass them on).
    /// (Not `discard self`: the name fields are not trivially destroyed; the deinit then
    /// finds nothing to close.)
    public consuming func takeDescriptors() -> [Int32] {
        let fds = owned
        owned = []
        return fds
    }

    /// Closes every queue now; the same as letting this value go, said at the call site.
    public consuming func close() {}

    /// Writes one frame (including any virtio-net header) to queue `queue`.
    public func write(_ frame: [UInt8], queue: Int = 0) throws {
        let n = frame.withUnsafeBytes { Glibc.write(owned[queue], $0.baseAddress, $0.count) }
        if n != frame.count {
            throw NetlinkError.system(operation: "write frame to queue \(queue) of", object: name, errno: n < 0 ? errno : EIO)
        }
    }

    /// Waits up to `timeoutMilliseconds` for a frame on any queue and returns it with its queue.
    public func read(timeoutMilliseconds: Int32) throws -> (queue: Int, frame: [UInt8])? {
        try readAny(owned, timeoutMilliseconds: timeoutMilliseconds, what: name).map { ($0.index, $0.frame) }
    }
}

/// poll(2) over `fds`, then reads one datagram from the first readable one.
func readAny(_ fds: [Int32], timeoutMilliseconds: Int32, what: String) throws -> (index: Int, frame: [UInt8])? {
    var pfds = fds.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
    while true {
        let r = poll(&pfds, nfds_t(pfds.count), timeoutMilliseconds)
        if r < 0 && errno == EINTR { continue }
        if r < 0 { throw NetlinkError.system(operation: "poll queues of", object: what, errno: errno) }
        if r == 0 { return nil }
        break
    }
    guard let i = pfds.firstIndex(where: { $0.revents & Int16(POLLIN) != 0 }) else { return nil }
    var buf = [UInt8](repeating: 0, count: 65_600)
    let n = buf.withUnsafeMutableBytes { Glibc.read(fds[i], $0.baseAddress, $0.count) }
    if n < 0 { throw NetlinkError.system(operation: "read queue of", object: what, errno: errno) }
    return (i, Array(buf[0..<n]))
}

/// The taps one `TunTap.create(_:in:)` call made, owning their queues until taken.
public struct TapQueueSet: ~Copyable, Sendable {
    public struct Tap: Sendable {
        public var name: String
        public var index: Int32
        var descriptors: [Int32]
    }
    /// Every tap made, in the order asked for (the ones before `failure`).
    public private(set) var taps: [Tap]
    /// The spec that failed (its position in the request) and why; nil when all were made.
    public let failure: (index: Int, error: NetlinkError)?

    init(taps: [Tap], failure: (Int, NetlinkError)?) {
        self.taps = taps
        self.failure = failure.map { (index: $0.0, error: $0.1) }
    }

    deinit { for t in taps { for fd in t.descriptors { _ = Glibc.close(fd) } } }

    /// Hands over the queue descriptors of tap `i`; the caller closes them from now on.
    public mutating func takeDescriptors(of i: Int) -> [Int32] {
        let fds = taps[i].descriptors
        taps[i].descriptors = []
        return fds
    }
}
