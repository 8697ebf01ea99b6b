import CSandnetLinux
import Foundation
import NetlinkCodec
import NetlinkSocket
import Synchronization
import TestSupport
import Testing

/// A request whose reply never comes ends with a typed timeout, not a hang.
@Suite struct ReplyTimeoutTests {
    /// A socket whose replies are lost for real: with a minimal receive buffer holding one
    /// unread reply and NETLINK_NO_ENOBUFS set, the kernel silently drops every further
    /// reply to it (netlink_overrun counts a drop and reports nothing).
    static func socketThatLosesReplies(timeout: Duration) throws -> NetlinkSocket {
        let s = try NetlinkSocket(protocol: .route)
        s.replyTimeout = timeout
        let netlinkNoENOBUFS: Int32 = 5 // NETLINK_NO_ENOBUFS (<linux/netlink.h>)
        guard sandnet_setsockopt_int(s.fd, SOL_SOCKET, SO_RCVBUFFORCE, 1) == 0,
            sandnet_setsockopt_int(s.fd, sandnet_SOL_NETLINK(), netlinkNoENOBUFS, 1) == 0
        else {
            throw TestFailure("setsockopt failed: errno \(errno)")
        }
        // One reply left unread fills the buffer (a socket always takes its first skb).
        var lo = IfInfoMessage()
        lo.index = 1
        let filler = NetlinkMessage(type: RTM.GETLINK, flags: [.request], body: lo.bytes).encode(sequence: 7, portID: s.portID)
        guard filler.withUnsafeBytes({ Glibc.send(s.fd, $0.baseAddress, $0.count, 0) }) == filler.count else {
            throw TestFailure("send failed: errno \(errno)")
        }
        return s
    }

    /// Runs `body` on its own thread (the socket is made and used there only) and waits,
    /// bounded: without a deadline in the socket the request would hang forever.
    static func onThread(_ body: @escaping @Sendable () throws -> Void) throws -> (Result<Void, any Error>, Duration) {
        let outcome = Mutex<Result<Void, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        let started = ContinuousClock.now
        Thread.detachNewThread {
            let r = Result { try body() }
            outcome.withLock { $0 = r }
            done.signal()
        }
        try BoundedWait.wait(done, within: 10, "the request without a reply returning")
        return (try #require(outcome.withLock { $0 }), ContinuousClock.now - started)
    }

    @Test func requestWhoseReplyIsDroppedEndsWithATimeout() throws {
        let (result, elapsed) = try Self.onThread {
            let s = try Self.socketThatLosesReplies(timeout: .milliseconds(300))
            defer { s.close() }
            var lo = IfInfoMessage()
            lo.index = 1
            try s.execute(NetlinkMessage(type: RTM.GETLINK, flags: [.request], body: lo.bytes))
        }
        guard case .failure(let error) = result, case NetlinkError.timedOut(let operation, let after) = error else {
            Issue.record("expected a timeout, got \(result)")
            return
        }
        #expect(after == .milliseconds(300))
        #expect(operation.contains("netlink request type 18"))
        #expect("\(error)".contains("no reply from the kernel within 0.3 s"), "\(error)")
        #expect(elapsed >= .milliseconds(300) && elapsed < .seconds(5), "took \(elapsed)")
    }

    /// The deadline bounds each wait for the kernel, not the whole exchange.
    @Test func aShortDeadlineDoesNotCutNormalReplies() throws {
        let s = try NetlinkSocket(protocol: .route)
        defer { s.close() }
        #expect(s.replyTimeout == NetlinkSocket.defaultReplyTimeout)
        s.replyTimeout = .milliseconds(500)
        #expect(try linkNames(s.dump(linkDumpRequest())).contains("lo"))
    }
}
