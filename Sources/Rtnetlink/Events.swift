import Foundation
import NetlinkCodec
import NetlinkSocket
#if canImport(Glibc)
import Glibc
#endif

/// One change the kernel announced on an rtnetlink multicast group (`ip monitor`).
public enum NetworkEvent: Sendable, Equatable {
    /// RTM_NEWLINK: a link appeared or changed (up/down, MTU, master, ...).
    case linkAdded(Link)
    case linkRemoved(Link)
    case addressAdded(Address)
    case addressRemoved(Address)
    case routeAdded(Route)
    case routeRemoved(Route)
    case neighbourAdded(Neighbour)
    case neighbourRemoved(Neighbour)
    /// Events were lost (the kernel said ENOBUFS, or the consumer fell too far behind):
    /// what you know is stale. Dump again (links(), addresses(), ...) and carry on.
    case resync
}

/// Which multicast groups to join.
public struct NetworkEventGroups: OptionSet, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let links = NetworkEventGroups(rawValue: 1)
    public static let addresses = NetworkEventGroups(rawValue: 2)
    public static let routes = NetworkEventGroups(rawValue: 4)
    public static let neighbours = NetworkEventGroups(rawValue: 8)
    public static let all: NetworkEventGroups = [.links, .addresses, .routes, .neighbours]

    /// RTNLGRP_* numbers for these groups.
    public var multicastGroups: [UInt32] {
        var g: [UInt32] = []
        if contains(.links) { g.append(RTNLGRP.LINK) }
        if contains(.addresses) { g += [RTNLGRP.IPV4_IFADDR, RTNLGRP.IPV6_IFADDR] }
        if contains(.routes) { g += [RTNLGRP.IPV4_ROUTE, RTNLGRP.IPV6_ROUTE] }
        if contains(.neighbours) { g.append(RTNLGRP.NEIGH) }
        return g
    }
}

extension NetworkEvent {
    /// Decodes one multicast message; nil for types this enum does not cover (and for
    /// cloned route-cache entries).
    public static func decode(_ message: NetlinkMessage) throws -> NetworkEvent? {
        switch message.header.type {
        case RTM.NEWLINK: return .linkAdded(try Link.decode(message))
        case RTM.DELLINK: return .linkRemoved(try Link.decode(message))
        case RTM.NEWADDR: return try Address.decode(message).map { .addressAdded($0) }
        case RTM.DELADDR: return try Address.decode(message).map { .addressRemoved($0) }
        case RTM.NEWROUTE, RTM.DELROUTE:
            let r = try Route.decode(message)
            if r.flags & RTM_F.CLONED != 0 { return nil }
            return message.header.type == RTM.NEWROUTE ? .routeAdded(r) : .routeRemoved(r)
        case RTM.NEWNEIGH: return .neighbourAdded(try Neighbour.decode(message))
        case RTM.DELNEIGH: return .neighbourRemoved(try Neighbour.decode(message))
        default: return nil
        }
    }
}

/// Link, address, route and neighbour changes in one namespace, as an AsyncSequence
/// (`ip monitor`). Iterate it once:
///
///     for try await event in try NetworkEvents(namespace: ns) { ... }
///
/// The socket is opened inside the namespace at init and joins the groups at once, so no
/// change made after init is missed. Reading starts with the first `next()` on a thread of
/// its own that waits in poll(2), never on a Swift concurrency thread. Breaking out of
/// the loop, cancelling the task or calling `close()` stops that thread and closes the
/// socket before returning.
public final class NetworkEvents: AsyncSequence, Sendable {
    public typealias Element = NetworkEvent
    let subscription: EventSubscription

    /// - Parameters:
    ///   - bufferLimit: events held for a slow consumer; past it they are dropped and the
    ///     consumer gets `.resync` after the ones it has.
    ///   - receiveBufferBytes: the socket's receive buffer (SO_RCVBUFFORCE); nil keeps the
    ///     large default. Small values make the kernel drop (and report ENOBUFS) sooner.
    public init(namespace: NetworkNamespace? = nil, groups: NetworkEventGroups = .all, bufferLimit: Int = 8192,
                receiveBufferBytes: Int32? = nil) throws {
        subscription = try EventSubscription(namespace: namespace, groups: groups, bufferLimit: Swift.max(1, bufferLimit),
                                             receiveBufferBytes: receiveBufferBytes)
    }

    public func makeAsyncIterator() -> Iterator { Iterator(token: IteratorToken(subscription)) }

    /// Stops reading and closes the socket; iteration ends (next() returns nil).
    public func close() { subscription.stop() }

    public struct Iterator: AsyncIteratorProtocol {
        let token: IteratorToken
        public mutating func next() async throws -> NetworkEvent? { try await token.subscription.next() }
    }

    /// Stops the subscription when the last copy of the iterator goes away (a `break`).
    final class IteratorToken: Sendable {
        let subscription: EventSubscription
        init(_ s: EventSubscription) { subscription = s }
        deinit { subscription.stop() }
    }
}

extension Rtnetlink {
    /// `ip monitor link address route neigh` in this handle's namespace, on a socket of its own.
    public func events(_ groups: NetworkEventGroups = .all) throws -> NetworkEvents {
        try NetworkEvents(namespace: namespace, groups: groups)
    }
}

/// The socket, the reader thread and the queue between it and the consumer.
final class EventSubscription: @unchecked Sendable {
    private let handle: NetlinkHandle
    private let socket: NetlinkSocket
    /// socketpair: writing to [1] wakes the reader out of poll(2).
    private let wake: [Int32]
    private let bufferLimit: Int

    private let lock = NSLock()
    private var queue: [NetworkEvent] = []
    private var head = 0
    private var lost = false
    private var failure: Error?
    private var waiter: CheckedContinuation<NetworkEvent?, Error>?
    private var started = false
    private var readerRunning = false
    private var joining = false
    private var stopped = false
    private var closed = false
    private let readerDone = DispatchSemaphore(value: 0)

    init(namespace: NetworkNamespace?, groups: NetworkEventGroups, bufferLimit: Int, receiveBufferBytes: Int32?) throws {
        handle = try NetlinkHandle(namespace: namespace, families: [.route])
        do {
            socket = try handle.socket(.route)
            if let bytes = receiveBufferBytes {
                var v = bytes
                _ = setsockopt(socket.fd, SOL_SOCKET, 33 /* SO_RCVBUFFORCE */, &v, socklen_t(MemoryLayout<Int32>.size))
            }
            for g in groups.multicastGroups { try socket.join(group: g) }
            var fds: [Int32] = [-1, -1]
            if socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) != 0 {
                throw NetlinkError.system(operation: "subscribe to events: socketpair", object: nil, errno: Glibc.errno)
            }
            wake = fds
        } catch {
            handle.close()
            throw error
        }
        self.bufferLimit = bufferLimit
    }

    deinit { closeDescriptors() }

    // MARK: consumer side

    func next() async throws -> NetworkEvent? {
        startReaderIfNeeded()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<NetworkEvent?, Error>) in
                lock.lock()
                if let outcome = takeLocked() {
                    lock.unlock()
                    c.resume(with: outcome)
                } else if waiter != nil {
                    lock.unlock()
                    c.resume(throwing: NetlinkError.invalidArgument(operation: "read events", reason: "another task is already iterating these events"))
                } else {
                    waiter = c
                    lock.unlock()
                }
            }
        } onCancel: {
            self.stop()
        }
    }

    /// What the consumer gets now, or nil when it has to wait. Call with the lock held.
    private func takeLocked() -> Result<NetworkEvent?, Error>? {
        if head < queue.count {
            let e = queue[head]; head += 1
            if head == queue.count { queue.removeAll(keepingCapacity: true); head = 0 }
            return .success(e)
        }
        if lost { lost = false; return .success(.resync) }
        if let f = failure { failure = nil; stopped = true; return .failure(f) }
        if stopped { return .success(nil) }
        return nil
    }

    // MARK: reader side

    private func deliver(_ event: NetworkEvent) {
        lock.lock()
        if stopped || lost { lock.unlock(); return }   // after a loss everything waits for the resync
        if let w = waiter {
            waiter = nil; lock.unlock(); w.resume(returning: event); return
        }
        if queue.count - head < bufferLimit { queue.append(event) } else { lost = true }
        lock.unlock()
    }

    private func markLost() {
        lock.lock()
        if let w = waiter {
            waiter = nil; lock.unlock(); w.resume(returning: .resync); return
        }
        lost = true
        lock.unlock()
    }

    private func fail(_ error: Error) {
        lock.lock()
        if let w = waiter {
            waiter = nil; stopped = true; lock.unlock(); w.resume(throwing: error); return
        }
        failure = error
        lock.unlock()
    }

    private func startReaderIfNeeded() {
        lock.lock()
        guard !started, !stopped else { lock.unlock(); return }
        started = true
        readerRunning = true
        lock.unlock()
        let thread = Thread { [self] in
            Self.nameCurrentThread("sandnet-events")
            readLoop()
            lock.lock(); readerRunning = false; lock.unlock()
            closeDescriptors()
            readerDone.signal()
        }
        thread.name = "sandnet-events"
        thread.start()
    }

    /// Names the thread in /proc (what `top -H` and the leak tests see); Foundation's
    /// Thread.name does not reach the kernel on Linux.
    private static func nameCurrentThread(_ name: String) {
        let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = name.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count - 1) }
        Glibc.close(fd)
    }

    private func readLoop() {
        var fds = [pollfd(fd: socket.fd, events: Int16(POLLIN), revents: 0), pollfd(fd: wake[0], events: Int16(POLLIN), revents: 0)]
        while true {
            fds[0].revents = 0; fds[1].revents = 0
            if poll(&fds, 2, -1) < 0 {
                if Glibc.errno == EINTR { continue }
                fail(NetlinkError.system(operation: "read events: poll", object: nil, errno: Glibc.errno)); return
            }
            if fds[1].revents != 0 { return }   // stop() asked us to leave
            if fds[0].revents == 0 { continue }
            // Drain everything queued before going back to poll.
            while true {
                do {
                    guard let (bytes, sender) = try socket.receiveDatagram(operation: "read events", dontWait: true) else { break }
                    guard sender == 0 else { continue }   // multicast from another process: not the kernel
                    // A datagram that does not decode is skipped: one odd message must not end the stream.
                    guard let messages = try? NetlinkMessage.decodeStream(bytes) else { continue }
                    for m in messages {
                        if let e = try? NetworkEvent.decode(m) { deliver(e) }
                    }
                } catch let NetlinkError.system(_, _, e) where e == ENOBUFS {
                    markLost()   // the kernel dropped messages for us; keep reading what is left
                } catch {
                    fail(error); return
                }
            }
        }
    }

    // MARK: shutdown

    /// Ends iteration, stops the reader thread and closes every descriptor before returning.
    func stop() {
        lock.lock()
        stopped = true
        let w = waiter; waiter = nil
        // Wake the reader while holding the lock: it marks itself gone under this lock
        // before closing the socketpair, so the write never hits a recycled descriptor.
        let join = readerRunning && !joining
        if join {
            joining = true
            var byte: UInt8 = 1
            _ = write(wake[1], &byte, 1)
        }
        let neverStarted = !started
        lock.unlock()
        w?.resume(returning: nil)
        if join { readerDone.wait() }
        if neverStarted { closeDescriptors() }
    }

    private func closeDescriptors() {
        lock.lock()
        if closed { lock.unlock(); return }
        closed = true
        lock.unlock()
        handle.close()
        Glibc.close(wake[0]); Glibc.close(wake[1])
    }
}
