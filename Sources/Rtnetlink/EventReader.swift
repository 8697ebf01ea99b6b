import Foundation
import NetlinkCodec
import NetlinkSocket
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The thread behind `NetworkEvents`: reads the multicast socket and yields what it
/// decodes into the stream's continuation.
///
/// Nothing here ever waits for the thread. Ending the stream (finish, cancel, a dropped
/// iterator) writes a byte into a socketpair the thread polls, and the thread then closes
/// its socket and its end of the pair itself. The write end stays behind a mutex until
/// the thread has left, so a wake-up never lands on a recycled descriptor.
final class EventReader: Sendable {
    /// What only the reader thread uses once it runs; taken by it at start.
    private struct ReaderSide: ~Copyable {
        let socket: NetlinkSocket
        /// Readable once `wakeWriteEnd` got a byte: time to leave.
        let wakeReadEnd: FileDescriptor
    }

    private enum Phase { case idle, running, over }

    private struct Control: ~Copyable {
        var phase = Phase.idle
        var wakeWriteEnd: FileDescriptor?
    }

    private let readerSide: Mutex<ReaderSide?>
    private let control: Mutex<Control>
    private let continuation: AsyncThrowingStream<NetworkEvent, Error>.Continuation
    /// While the consumer's buffer is full, how often the reader offers it the `.resync`.
    private static let resyncRetryMilliseconds: Int32 = 20

    /// Opens the socket in `namespace` and joins `groups` now, so nothing after init is missed.
    init(
        namespace: NetworkNamespace?, groups: NetworkEventGroups, receiveBufferBytes: Int32?,
        continuation: AsyncThrowingStream<NetworkEvent, Error>.Continuation
    ) throws {
        let socket = try NetlinkSocket.open(.route, in: namespace)
        if let bytes = receiveBufferBytes { socket.setReceiveBuffer(bytes: bytes) }
        for g in groups.multicastGroups { try socket.join(group: g) }
        var fds: [Int32] = [-1, -1]
        if socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) != 0 {
            throw NetlinkError.system(operation: "subscribe to events: socketpair", object: nil, errno: Glibc.errno)
        }
        readerSide = Mutex(ReaderSide(socket: socket, wakeReadEnd: FileDescriptor(fds[0])))
        control = Mutex(Control(wakeWriteEnd: FileDescriptor(fds[1])))
        self.continuation = continuation
        // The stream ends for any reason (finish, cancel, last reference gone): wake the
        // reader. Called once; the cycle through `self` ends with that call.
        continuation.onTermination = { _ in self.streamEnded() }
    }

    /// Starts the reader thread, once; not after the stream has ended.
    func start() {
        let go = control.withLock { c in
            guard case .idle = c.phase else { return false }
            c.phase = .running
            return true
        }
        guard go else { return }
        let thread = Thread { [self] in
            Self.nameCurrentThread("sandnet-events")
            guard let side = readerSide.withLock({ $0.take() }) else { return }
            let failure = readLoop(side)
            continuation.finish(throwing: failure)
            control.withLock { c in
                c.phase = .over
                c.wakeWriteEnd = nil
            }
            side.socket.close()
            _ = consume side // and the wake-up read end: everything the reader held is closed here
        }
        thread.name = "sandnet-events"
        thread.start()
    }

    /// Ends the stream; the consumer gets what is buffered, then nil. Never blocks.
    func stop() { continuation.finish() }

    private func streamEnded() {
        let neverStarted = control.withLock { c -> Bool in
            switch c.phase {
            case .idle:
                c.phase = .over
                c.wakeWriteEnd = nil
                return true
            case .running:
                if let fd = c.wakeWriteEnd?.rawValue {
                    var byte: UInt8 = 1
                    _ = write(fd, &byte, 1)
                }
                return false
            case .over:
                return false
            }
        }
        // No thread will take the socket: close it here.
        if neverStarted { readerSide.withLock { $0 = nil } }
    }

    /// Names the thread in /proc (what `top -H` and the leak tests see); Foundation's
    /// Thread.name does not reach the kernel on Linux.
    private static func nameCurrentThread(_ name: String) {
        let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = name.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count - 1) }
        Glibc.close(fd)
    }

    // MARK: reader thread

    /// Reads until woken or the stream is gone; returns the error that ended it, if any.
    private func readLoop(_ side: borrowing ReaderSide) -> Error? {
        var delivery = Delivery(continuation: continuation)
        var fds = [
            pollfd(fd: side.socket.fd, events: Int16(POLLIN), revents: 0),
            pollfd(fd: side.wakeReadEnd.rawValue, events: Int16(POLLIN), revents: 0)
        ]
        while true {
            if delivery.lost, !delivery.offerResync() { return nil }
            fds[0].revents = 0
            fds[1].revents = 0
            // While a loss is unannounced, wake up now and then to offer the `.resync` again.
            if poll(&fds, 2, delivery.lost ? Self.resyncRetryMilliseconds : -1) < 0 {
                if Glibc.errno == EINTR { continue }
                return NetlinkError.system(operation: "read events: poll", object: nil, errno: Glibc.errno)
            }
            if fds[1].revents != 0 { return nil } // the stream ended
            if fds[0].revents == 0 { continue }
            // Drain everything queued before going back to poll.
            while true {
                do {
                    guard let (bytes, sender) = try side.socket.receiveDatagram(operation: "read events", dontWait: true) else { break }
                    guard sender == 0 else { continue } // multicast from another process: not the kernel
                    // A datagram that does not decode is skipped: one odd message must not end the stream.
                    guard let messages = try? NetlinkMessage.decodeStream(bytes) else { continue }
                    for m in messages {
                        if let e = try? NetworkEvent.decode(m), !delivery.deliver(e) { return nil }
                    }
                } catch let NetlinkError.system(_, _, e) where e == ENOBUFS {
                    // The kernel dropped messages for us; keep reading what is left.
                    delivery.lost = true
                    if !delivery.offerResync() { return nil }
                } catch {
                    return error
                }
            }
        }
    }

    /// Yields into the stream and keeps track of losses: after one, events are dropped
    /// until the consumer has taken a `.resync` (it re-dumps, which covers them).
    private struct Delivery {
        let continuation: AsyncThrowingStream<NetworkEvent, Error>.Continuation
        var lost = false

        /// False when the stream is gone.
        mutating func deliver(_ event: NetworkEvent) -> Bool {
            if lost {
                guard offerResync() else { return false }
                if lost { return true } // still no room: this one is dropped too
            }
            switch continuation.yield(event) {
            case .enqueued: return true
            case .dropped:
                lost = true
                return true // the consumer fell behind the buffer limit
            case .terminated: return false
            @unknown default: return false
            }
        }

        /// Tries to queue the `.resync`; false when the stream is gone.
        mutating func offerResync() -> Bool {
            switch continuation.yield(.resync) {
            case .enqueued:
                lost = false
                return true
            case .dropped: return true
            case .terminated: return false
            @unknown default: return false
            }
        }
    }
}
