import CSandnetLinux
import NetlinkCodec

#if canImport(Glibc)
    import Glibc
#endif

// Socket options at SOL_NETLINK (<linux/netlink.h>).
enum NetlinkSocketOption {
    static let addMembership: Int32 = 1 // NETLINK_ADD_MEMBERSHIP
    static let dropMembership: Int32 = 2 // NETLINK_DROP_MEMBERSHIP
    static let noENOBUFS: Int32 = 5 // NETLINK_NO_ENOBUFS
    static let capAck: Int32 = 10 // NETLINK_CAP_ACK
    static let extAck: Int32 = 11 // NETLINK_EXT_ACK
    static let strictCheck: Int32 = 12 // NETLINK_GET_STRICT_CHK
}

/// One request of a batch (`NetlinkSocket.executeBatch`), with how errors name it.
public struct NetlinkRequest: Sendable {
    public var message: NetlinkMessage
    public var operation: String
    public var object: String?
    public init(_ message: NetlinkMessage, operation: String, object: String? = nil) {
        self.message = message
        self.operation = operation
        self.object = object
    }
}

/// One bound netlink socket of one protocol family. Not thread-safe, and so not
/// Sendable: whoever owns it serialises its use (`NetlinkHandle` behind a mutex, the
/// events reader on its own thread).
public final class NetlinkSocket {
    public let proto: NetlinkProtocol
    /// The socket, until `close()`.
    private var descriptor: FileDescriptor?
    /// The descriptor number, -1 once closed. Valid while this socket is open; do not close it.
    public var fd: Int32 { descriptor?.rawValue ?? -1 }
    /// Port id the kernel assigned at bind time. Reading it binds the socket if it was
    /// not used yet; 0 if that bind fails (the next request then throws why).
    public var portID: UInt32 {
        _ = try? prepare()
        return boundPort
    }
    /// Whether the kernel accepted NETLINK_EXT_ACK / NETLINK_GET_STRICT_CHK (set up first
    /// if the socket was not used yet).
    public var extendedAck: Bool {
        _ = try? prepare()
        return extendedAckOn
    }
    public var strictChecking: Bool {
        _ = try? prepare()
        return strictCheckingOn
    }
    private var boundPort: UInt32 = 0
    private var extendedAckOn = false
    private var strictCheckingOn = false
    /// Whether bind and the socket options are done (see `prepare`).
    private var prepared = false

    private var sequence: UInt32
    /// What this socket has seen, for tests and benchmarks.
    public private(set) var statistics = Statistics()
    public struct Statistics: Sendable, Equatable {
        public var datagramsReceived = 0
        public var bytesReceived = 0
        /// Dump attempts that were interrupted (NLM_F_DUMP_INTR or ENOBUFS) and retried or given up.
        public var interruptedDumps = 0
    }
    private var buffer: [UInt8]

    /// Receives the kernel's extended-ACK text on requests it carried out (nil: dropped).
    public var onWarning: KernelWarningHandler?

    /// Dumps interrupted by concurrent changes are retried this many times.
    public var dumpRetries = 5
    /// How long a request waits for each reply from the kernel before it fails with
    /// `NetlinkError.timedOut`: a lost reply must not block its caller forever.
    public var replyTimeout: Duration = NetlinkSocket.defaultReplyTimeout
    public static let defaultReplyTimeout: Duration = .seconds(30)
    static let receiveBufferBytes: Int32 = 4 << 20

    /// Opens and binds a socket in the calling thread's network namespace.
    public convenience init(protocol proto: NetlinkProtocol, groups: UInt32 = 0) throws {
        try self.init(adopting: Self.makeDescriptor(proto), protocol: proto, groups: groups)
    }

    /// A new unbound socket of `proto` in the calling thread's namespace. This is the only
    /// step that must run in the target namespace: a socket belongs to the namespace it
    /// was made in, so binding and options can follow on any thread.
    static func makeDescriptor(_ proto: NetlinkProtocol) throws -> FileDescriptor {
        let raw = sandnet_netlink_open(proto.rawValue)
        if raw < 0 {
            let e = Glibc.errno
            if e == EPROTONOSUPPORT { throw NetlinkError.protocolUnavailable(proto, errno: e) }
            throw NetlinkError.system(operation: "open \(proto.kernelName) socket", object: nil, errno: e)
        }
        return FileDescriptor(raw)
    }

    /// Takes `owned`, a socket made by `makeDescriptor`. A listening socket (`groups` not
    /// 0) is bound and set up now (closed if that throws); any other on its first use.
    init(adopting owned: consuming FileDescriptor, protocol proto: NetlinkProtocol, groups: UInt32 = 0) throws {
        self.proto = proto
        self.descriptor = .some(owned)
        // Sequence numbers start from the clock so a reused port never matches stale replies.
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        self.sequence = UInt32(truncatingIfNeeded: ts.tv_nsec ^ ts.tv_sec)
        self.buffer = []
        if groups != 0 {
            try prepare(groups: groups)
            // Multicast events come in bursts: a socket made to listen gets the big buffer now.
            raiseReceiveBuffer()
        }
    }

    /// Binds the socket (the kernel picks the port) and turns on extended ACKs, strict
    /// checking and capped ACKs, once, before the first request. Deferred from open so a
    /// handle costs five system calls less until it is used, and not at all if it never is;
    /// the kernel would otherwise bind on the first send by itself.
    private func prepare(groups: UInt32 = 0) throws {
        guard !prepared else { return }
        var port: UInt32 = 0
        if sandnet_netlink_bind(fd, groups, &port) < 0 {
            throw NetlinkError.system(operation: "bind \(proto.kernelName) socket", object: nil, errno: Glibc.errno)
        }
        boundPort = port
        let sol = sandnet_SOL_NETLINK()
        extendedAckOn = setsockopt_int(sol, NetlinkSocketOption.extAck, 1) == 0
        strictCheckingOn = setsockopt_int(sol, NetlinkSocketOption.strictCheck, 1) == 0
        // Errors need only the request header echoed back, not the whole request.
        _ = setsockopt_int(sol, NetlinkSocketOption.capAck, 1)
        prepared = true
    }

    /// The port, binding first if needed; throws why the bind failed.
    private func preparedPort() throws -> UInt32 {
        try prepare()
        return boundPort
    }

    /// Large dumps (thousands of links) and event bursts arrive faster than we read; a big
    /// buffer avoids ENOBUFS. SO_RCVBUFFORCE passes the rmem_max cap when we are root.
    /// Done before the first dump or group membership, not at open: a handle that only
    /// makes requests (each answered by one small ACK) never needs it.
    private func raiseReceiveBuffer() {
        guard !receiveBufferSet else { return }
        setReceiveBuffer(bytes: Self.receiveBufferBytes)
    }
    private var receiveBufferSet = false

    /// Sets the receive buffer to `bytes` instead of the 4 MiB a dump or group membership
    /// would set (SO_RCVBUFFORCE; SO_RCVBUF, capped by rmem_max, when not root).
    public func setReceiveBuffer(bytes: Int32) {
        receiveBufferSet = true
        if setsockopt_int(SOL_SOCKET, SO_RCVBUFFORCE, bytes) != 0 {
            _ = setsockopt_int(SOL_SOCKET, SO_RCVBUF, bytes)
        }
    }

    /// Opens a socket inside `namespace` (nil: the calling thread's), made on a namespace
    /// thread; the socket stays in that namespace wherever it is used from.
    public static func open(_ proto: NetlinkProtocol, in namespace: NetworkNamespace?) throws -> NetlinkSocket {
        guard let namespace else { return try NetlinkSocket(protocol: proto) }
        let raw = try namespace.run { try makeDescriptor(proto).take() }
        return try NetlinkSocket(adopting: FileDescriptor(raw), protocol: proto)
    }

    /// Closes the socket now (it also closes when this object goes away). Idempotent.
    public func close() { descriptor = nil }

    private func setsockopt_int(_ level: Int32, _ name: Int32, _ value: Int32) -> Int32 {
        sandnet_setsockopt_int(fd, level, name, value)
    }

    /// Joins a multicast group (RTNLGRP_*).
    public func join(group: UInt32) throws {
        try prepare()
        raiseReceiveBuffer()
        if setsockopt_int(sandnet_SOL_NETLINK(), NetlinkSocketOption.addMembership, Int32(group)) != 0 {
            throw NetlinkError.system(operation: "join multicast group", object: "\(group)", errno: Glibc.errno)
        }
    }

    public func nextSequence() -> UInt32 {
        sequence &+= 1
        if sequence == 0 { sequence = 1 }
        return sequence
    }

    // MARK: send / receive

    // The `operation:` variants below are package-only: the label is how sandnet's own
    // typed operations name themselves in errors. Clients use the unlabelled ones.

    package func send(_ bytes: [UInt8], operation: String) throws {
        try prepare()
        while true {
            let n = bytes.withUnsafeBytes { sandnet_netlink_send(fd, $0.baseAddress, $0.count) }
            if n >= 0 { return }
            let e = Glibc.errno
            if e == EINTR { continue }
            throw NetlinkError.system(operation: "\(operation): send", object: nil, errno: e)
        }
    }

    /// Receives one datagram, sized with MSG_PEEK|MSG_TRUNC first so nothing is cut.
    /// Returns nil when the socket would block (only with MSG_DONTWAIT). With `deadline`,
    /// throws `timedOut` when nothing arrives by then.
    package func receiveDatagram(
        operation: String, dontWait: Bool = false,
        deadline: ContinuousClock.Instant? = nil
    ) throws -> (bytes: ArraySlice<UInt8>, sender: UInt32)? {
        let extra: Int32 = dontWait ? Int32(MSG_DONTWAIT) : 0
        try prepare()
        // With a deadline, look first without blocking and poll only when nothing is there:
        // during a dump the kernel queues the next datagram while the last one is read, so a
        // poll before every receive was one wasted system call per datagram.
        var mustWait = false
        while true {
            if mustWait, let deadline { try waitReadable(until: deadline, operation: operation) }
            var sender: UInt32 = 0
            let peekFlags = Int32(MSG_PEEK | MSG_TRUNC) | (deadline != nil ? Int32(MSG_DONTWAIT) : extra)
            let peeked = buffer.withUnsafeMutableBytes { sandnet_netlink_recv(fd, $0.baseAddress, 0, peekFlags, &sender) }
            if peeked < 0 {
                let e = Glibc.errno
                if e == EINTR { continue }
                if e == EAGAIN && dontWait { return nil }
                if e == EAGAIN && deadline != nil {
                    mustWait = true
                    continue
                }
                throw NetlinkError.system(operation: "\(operation): receive", object: nil, errno: e)
            }
            // Allocated on first use: a handle opened and closed unused costs no buffer.
            if peeked > buffer.count { buffer = [UInt8](repeating: 0, count: max(32 * 1024, netlinkAlign(peeked))) }
            let n = buffer.withUnsafeMutableBytes { sandnet_netlink_recv(fd, $0.baseAddress, $0.count, extra, &sender) }
            if n < 0 {
                let e = Glibc.errno
                if e == EINTR { continue }
                if e == EAGAIN && dontWait { return nil }
                throw NetlinkError.system(operation: "\(operation): receive", object: nil, errno: e)
            }
            statistics.datagramsReceived += 1
            statistics.bytesReceived += n
            return (buffer[0..<n], sender)
        }
    }

    /// Sends a request and waits for its ACK. Returns any reply messages that came
    /// before the ACK (for example the object a GET asked for).
    /// Sends a request and waits for its ACK; errors name the request by its message type.
    @discardableResult
    public func execute(_ message: NetlinkMessage) throws -> [NetlinkMessage] {
        try execute(message, operation: "netlink request type \(message.header.type)")
    }

    /// Runs a dump and returns every reply message; errors name it by its message type.
    public func dump(_ message: NetlinkMessage) throws -> [NetlinkMessage] {
        try dump(message, operation: "netlink dump type \(message.header.type)")
    }

    /// Sends a request and waits for its ACK. Returns any reply messages that came
    /// before the ACK (for example the object a GET asked for).
    @discardableResult
    package func execute(_ message: NetlinkMessage, operation: String, object: String? = nil) throws -> [NetlinkMessage] {
        var m = message
        m.header.flags.formUnion([.request, .ack])
        let seq = nextSequence()
        try send(m.encode(sequence: seq, portID: try preparedPort()), operation: operation)
        var replies: [NetlinkMessage] = []
        while true {
            for reply in try receiveMatching(sequence: seq, operation: operation) {
                switch reply.header.type {
                case NetlinkMessageType.error:
                    let err = try decodeError(reply, operation: operation)
                    if err.errno == 0 {
                        if let text = err.extAckMessage, !text.isEmpty {
                            onWarning?(KernelWarning(operation: operation, object: object, message: text))
                        }
                        return replies
                    }
                    throw NetlinkError.kernel(
                        KernelRefusal(
                            operation: operation, object: object, errno: err.errno,
                            kernelMessage: err.extAckMessage, offset: err.extAckOffset))
                case NetlinkMessageType.done:
                    return replies
                case NetlinkMessageType.noop:
                    continue
                default:
                    replies.append(reply)
                }
            }
        }
    }

    /// Sends every request of `requests` in one datagram (one `sendmsg`), each with its own
    /// sequence number and NLM_F_ACK, and collects one outcome per request, in order: the
    /// replies that came before its ACK (an NLM_F_ECHO copy of what it made), or the typed
    /// refusal naming that request's operation and object with the kernel's extended-ACK
    /// text. The kernel carries out the messages of one datagram one after the other and
    /// goes on after a refusal, so a caller batches only requests that are safe to make
    /// whatever became of the ones before them. A process killed meanwhile cannot stop
    /// between two of them: the kernel runs the whole datagram inside the one syscall.
    package func executeBatch(_ requests: [NetlinkRequest]) throws -> [Result<[NetlinkMessage], NetlinkError>] {
        guard !requests.isEmpty else { return [] }
        let operation = requests.count == 1 ? requests[0].operation : "\(requests[0].operation) and \(requests.count - 1) more requests"
        var bytes: [UInt8] = []
        var indexOf: [UInt32: Int] = [:]
        for (i, r) in requests.enumerated() {
            var m = r.message
            m.header.flags.formUnion([.request, .ack])
            let seq = nextSequence()
            indexOf[seq] = i
            bytes += m.encode(sequence: seq, portID: portID)
        }
        try send(bytes, operation: operation)
        var replies = [[NetlinkMessage]](repeating: [], count: requests.count)
        var outcomes = [Result<[NetlinkMessage], NetlinkError>?](repeating: nil, count: requests.count)
        var pending = requests.count
        let deadline = ContinuousClock.now + replyTimeout
        while pending > 0 {
            guard let (datagram, sender) = try receiveDatagram(operation: operation, deadline: deadline) else { continue }
            guard sender == 0 else { continue } // only the kernel may answer
            let messages: [NetlinkMessage]
            do { messages = try NetlinkMessage.decodeStream(datagram) } catch let d as DecodeError {
                throw NetlinkError.malformedReply(operation: operation, d)
            }
            for reply in messages where reply.header.portID == portID || reply.header.portID == 0 {
                guard let i = indexOf[reply.header.sequence], outcomes[i] == nil else { continue }
                let r = requests[i]
                switch reply.header.type {
                case NetlinkMessageType.error:
                    let err = try decodeError(reply, operation: r.operation)
                    if err.errno == 0 {
                        if let text = err.extAckMessage, !text.isEmpty {
                            onWarning?(KernelWarning(operation: r.operation, object: r.object, message: text))
                        }
                        outcomes[i] = .success(replies[i])
                    } else {
                        outcomes[i] = .failure(
                            NetlinkError.kernel(
                                KernelRefusal(
                                    operation: r.operation, object: r.object, errno: err.errno,
                                    kernelMessage: err.extAckMessage, offset: err.extAckOffset)))
                    }
                    pending -= 1
                case NetlinkMessageType.done:
                    outcomes[i] = .success(replies[i])
                    pending -= 1
                case NetlinkMessageType.noop: continue
                default: replies[i].append(reply)
                }
            }
        }
        return outcomes.map { $0! }
    }

    /// Sends a dump request and collects every reply until NLMSG_DONE. A dump marked
    /// NLM_F_DUMP_INTR (the table changed under it) or cut by ENOBUFS is run again, up
    /// to `dumpRetries` more times.
    package func dump(_ message: NetlinkMessage, operation: String, object: String? = nil) throws -> [NetlinkMessage] {
        raiseReceiveBuffer()
        return try DumpCollector.withRetries(dumpRetries, operation: operation) {
            var m = message
            m.header.flags.formUnion([.request, .dump])
            let seq = nextSequence()
            try send(m.encode(sequence: seq, portID: try preparedPort()), operation: operation)
            var collector = DumpCollector(operation: operation, object: object)
            do {
                while !collector.finished {
                    for reply in try receiveMatching(sequence: seq, operation: operation) {
                        if try collector.consume(reply) { break }
                    }
                }
            } catch let NetlinkError.system(_, _, e) where e == ENOBUFS {
                // The socket overflowed mid-dump: what we have is incomplete. Drain and retry.
                drainPending(operation: operation)
                collector.interrupted = true
            }
            if collector.interrupted { statistics.interruptedDumps += 1 }
            return collector
        }
    }

    /// Runs a dump and hands each data reply to `each` while its datagram is in the
    /// receive buffer: no copy of the datagram and no message array (a 500-link scan
    /// copied every datagram and kept every message until the end). `each` sees views into
    /// the buffer that are valid only during the call. The same retries as `dump`:
    /// `restart` runs before each attempt after the first, to drop what the last one gave.
    package func dump(
        _ message: NetlinkMessage, operation: String, object: String? = nil, restart: () -> Void,
        each: (NetlinkMessage) throws -> Void
    ) throws {
        var attempts = 0
        while true {
            attempts += 1
            if attempts > 1 { restart() }
            var m = message
            m.header.flags.formUnion([.request, .dump])
            let seq = nextSequence()
            try send(m.encode(sequence: seq, portID: portID), operation: operation)
            var collector = DumpCollector(operation: operation, object: object)
            do {
                while !collector.finished {
                    try receiveEach(sequence: seq, operation: operation) { reply in
                        guard try collector.isData(reply) else { return !collector.finished }
                        try each(reply)
                        return true
                    }
                }
            } catch let NetlinkError.system(_, _, e) where e == ENOBUFS {
                // The socket overflowed mid-dump: what we have is incomplete. Drain and retry.
                drainPending(operation: operation)
                collector.interrupted = true
            }
            if !collector.interrupted { return }
            statistics.interruptedDumps += 1
            if attempts > dumpRetries { throw NetlinkError.dumpInterrupted(operation: operation, attempts: attempts) }
        }
    }

    /// The next datagram from the kernel (others' are dropped): only its bytes, because
    /// the optional (bytes, sender) tuple, kept alive over the walk of a datagram, was
    /// copied through its runtime metadata twice per message (a sixth of a scan's user
    /// time). Not inlined, or the optimizer brings the tuple back into the walk.
    @inline(never)
    private func receiveFromKernel(operation: String, deadline: ContinuousClock.Instant) throws -> ArraySlice<UInt8>? {
        guard let received = try receiveDatagram(operation: operation, deadline: deadline) else { return nil }
        return received.sender == 0 ? received.bytes : nil // only the kernel may answer
    }

    /// Reads datagrams until one holds messages for `sequence` from the kernel to us (for
    /// at most `replyTimeout`) and passes each of them, in place, to `body`, which returns
    /// false to skip the rest of the datagram. Stale replies are dropped, as by
    /// `receiveMatching`.
    private func receiveEach(
        sequence seq: UInt32, operation: String, _ body: (NetlinkMessage) throws -> Bool
    ) throws {
        let deadline = ContinuousClock.now + replyTimeout
        while true {
            guard let bytes = try receiveFromKernel(operation: operation, deadline: deadline) else { continue }
            // Split first, so a malformed datagram fails before any of it is used (as
            // decodeStream does); the split allocates nothing.
            do { try NetlinkMessage.validateStream(bytes) } catch let d as DecodeError {
                throw NetlinkError.malformedReply(operation: operation, d)
            }
            var r = ByteReader(bytes)
            var sawOurs = false
            while r.remaining > 0 {
                let start = r.offset
                let header = try NetlinkHeader.decode(&r)
                let payload = try r.take(Int(header.length) - NetlinkHeader.size, "message payload")
                r.skipPadding(after: r.offset - start)
                guard header.sequence == seq && (header.portID == portID || header.portID == 0) else { continue }
                sawOurs = true
                if try !body(NetlinkMessage(header: header, payloadSlice: payload)) { break }
            }
            if sawOurs { return }
        }
    }

    /// Polls until the socket is readable (data or a pending error) or `deadline` passes.
    private func waitReadable(until deadline: ContinuousClock.Instant, operation: String) throws {
        while true {
            let (s, atto) = (deadline - ContinuousClock.now).components
            guard s > 0 || atto > 0 else { throw NetlinkError.timedOut(operation: operation, after: replyTimeout) }
            let ms = Int32(clamping: s * 1000 + atto / 1_000_000_000_000_000 + 1)
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let n = poll(&p, 1, ms)
            if n > 0 { return }
            if n < 0 && Glibc.errno != EINTR {
                throw NetlinkError.system(operation: "\(operation): wait for the reply", object: nil, errno: Glibc.errno)
            }
        }
    }

    /// Reads datagrams until one holds messages for `sequence` from the kernel to us, for
    /// at most `replyTimeout`. Stale replies (older sequences, other senders) are dropped.
    private func receiveMatching(sequence seq: UInt32, operation: String) throws -> [NetlinkMessage] {
        let deadline = ContinuousClock.now + replyTimeout
        while true {
            guard let (bytes, sender) = try receiveDatagram(operation: operation, deadline: deadline) else { continue }
            guard sender == 0 else { continue } // only the kernel may answer
            let messages: [NetlinkMessage]
            do { messages = try NetlinkMessage.decodeStream(bytes) } catch let d as DecodeError {
                throw NetlinkError.malformedReply(operation: operation, d)
            }
            let ours = messages.filter { $0.header.sequence == seq && ($0.header.portID == boundPort || $0.header.portID == 0) }
            if !ours.isEmpty { return ours }
        }
    }

    private func decodeError(_ message: NetlinkMessage, operation: String) throws -> NetlinkErrorMessage {
        do { return try NetlinkErrorMessage.decode(message) } catch let d as DecodeError {
            throw NetlinkError.malformedReply(operation: operation, d)
        }
    }

    private func drainPending(operation: String) {
        while (try? receiveDatagram(operation: operation, dontWait: true)) != nil {}
    }
}
