import CSandnetLinux
import Foundation
import NetlinkCodec
import NetlinkSocket
import SandnetCore
import Synchronization
import TestSupport
import Testing

@Suite struct SocketTests {
    @Test func manySocketsGetDistinctKernelChosenPorts() throws {
        let sockets = try (0..<64).map { _ in try NetlinkSocket(protocol: .route) }
        defer { sockets.forEach { $0.close() } }
        let ports = Set(sockets.map(\.portID))
        #expect(ports.count == sockets.count)
        #expect(!ports.contains(0))
    }

    @Test func everyDescriptorIsCloseOnExec() throws {
        let s = try NetlinkSocket(protocol: .route)
        defer { s.close() }
        #expect(fcntl(s.fd, F_GETFD) & FD_CLOEXEC != 0)
    }

    @Test func sequenceNumbersIncreaseAndSkipZero() throws {
        let s = try NetlinkSocket(protocol: .route)
        defer { s.close() }
        var last = s.nextSequence()
        for _ in 0..<1000 {
            let next = s.nextSequence()
            #expect(next == (last == .max ? 1 : last + 1))
            #expect(next != 0)
            last = next
        }
    }

    @Test func extendedAckAndStrictCheckingAreOn() throws {
        let s = try NetlinkSocket(protocol: .route)
        defer { s.close() }
        #expect(s.extendedAck && s.strictChecking)
        // Strict checking rejects a dump request carrying a non-zero field it cannot filter
        // on (ifi_change), with an extended-ACK message explaining why.
        let bad = NetlinkMessage(type: RTM.GETLINK, flags: [.request, .dump], body: IfInfoMessage(change: 1).bytes)
        do {
            _ = try s.dump(bad, operation: "dump links")
            Issue.record("strict checking let a malformed dump request through")
        } catch let NetlinkError.kernel(refusal) {
            #expect(refusal.errno == EINVAL)
            #expect(refusal.kernelMessage?.isEmpty == false, "no extended-ACK text: NETLINK_EXT_ACK not in effect")
        }
    }

    @Test func staleRepliesAndForeignSendersAreIgnored() throws {
        let s = try NetlinkSocket(protocol: .route)
        let intruder = try NetlinkSocket(protocol: .route)
        defer {
            s.close()
            intruder.close()
        }
        // 1. A reply to an older request is still queued when the next request runs.
        let getLo = NetlinkMessage(type: RTM.GETLINK, flags: [.request], body: IfInfoMessage(index: 1).bytes)
        let stale = s.nextSequence()
        try s.send(getLo.encode(sequence: stale, portID: s.portID), operation: "stale")
        // 2. Another socket forges an error for the sequence number execute() will use next.
        let upcoming = stale &+ 1
        var forged = ByteWriter()
        NetlinkHeader(length: 36, type: NetlinkMessageType.error, flags: .capped, sequence: upcoming, portID: s.portID).encode(
            into: &forged)
        forged.i32(-EPERM)
        NetlinkHeader(length: 16, type: RTM.GETLINK, flags: .request, sequence: upcoming, portID: s.portID).encode(into: &forged)
        let sent = forged.bytes.withUnsafeBytes { sandnet_netlink_send_to(intruder.fd, $0.baseAddress, $0.count, s.portID) }
        #expect(sent == 36)
        let replies = try s.execute(getLo, operation: "get link lo")
        #expect(replies.count == 1)
        #expect(replies.first?.header.sequence == upcoming)
        #expect(s.statistics.datagramsReceived >= 3) // stale reply + forged error + the real reply (+ ACK)
    }

    @Test func refusedFamilyNamesItselfAndItsKernelOption() throws {
        guard let family = Probe.refusedFamily else {
            // Every family sandnet knows is in this kernel: nothing to refuse.
            withKnownIssue("this kernel accepts every NETLINK_* family sandnet knows") { throw TestFailure("no refused family") }
            return
        }
        do {
            _ = try NetlinkSocket(protocol: family)
            Issue.record("\(family) opened although socket() refused it")
        } catch let e as NetlinkError {
            guard case .protocolUnavailable(let p, let errno) = e else {
                Issue.record("wrong error \(e)")
                return
            }
            #expect(p == family && errno == EPROTONOSUPPORT)
            #expect(e.description.contains(family.kernelName))
            if let option = family.kernelOption { #expect(e.description.contains(option)) }
            #expect(e.hint != nil)
        }
    }

    @Test func probeMatchesWhatSocketSays() {
        let report = NetlinkProtocol.probe()
        #expect(report.map(\.family) == NetlinkProtocol.allCases)
        for entry in report {
            let fd = socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), entry.family.rawValue)
            let e = errno
            if fd >= 0 { close(fd) }
            #expect(entry.available == (fd >= 0), "\(entry.family)")
            if !entry.available {
                #expect(entry.errno == e)
                #expect(entry.reason?.contains(entry.family.kernelName) == true)
            }
        }
    }

    @Test func handleRefusesAFamilyItDidNotOpen() throws {
        let h = try NetlinkHandle(families: [.route])
        defer { h.close() }
        #expect(throws: NetlinkError.self) { try h.withSocket(.generic) { _ in } }
        do { _ = try h.withSocket(.xfrm) { _ in Issue.record("got a socket of a family never opened") } } catch let
            NetlinkError.familyNotOpened(asked, opened)
        {
            #expect(asked == .xfrm && opened == [.route])
        }
        #expect(try h.withSocket(.route) { $0.proto } == .route)
    }

    @Test func dumpRetryRules() throws {
        func part(_ type: UInt16, _ flags: NetlinkFlags = .multi, payload: [UInt8] = [0, 0, 0, 0]) -> NetlinkMessage {
            NetlinkMessage(header: NetlinkHeader(type: type, flags: flags), payload: payload)
        }
        // NLM_F_DUMP_INTR on any part marks the attempt interrupted; DONE still ends it.
        var c = DumpCollector(operation: "dump links")
        #expect(try !c.consume(part(RTM.NEWLINK)))
        #expect(try !c.consume(part(RTM.NEWLINK, [.multi, .dumpInterrupted])))
        #expect(try c.consume(part(NetlinkMessageType.done, [.multi, .dumpInterrupted])))
        #expect(c.interrupted && c.messages.count == 2)
        // Interrupted twice, then clean: the clean attempt's messages are the result.
        var attempts = 0
        let result = try DumpCollector.withRetries(5, operation: "dump links") {
            attempts += 1
            var c = DumpCollector(operation: "dump links")
            for _ in 0..<attempts { try c.consume(part(RTM.NEWLINK)) }
            try c.consume(part(NetlinkMessageType.done, attempts < 3 ? [.multi, .dumpInterrupted] : .multi))
            return c
        }
        #expect(attempts == 3 && result.count == 3)
        // Always interrupted: a typed error after retries + 1 attempts.
        attempts = 0
        #expect(throws: NetlinkError.self) {
            try DumpCollector.withRetries(2, operation: "dump links") {
                attempts += 1
                var c = DumpCollector(operation: "dump links")
                c.interrupted = true
                return c
            }
        }
        #expect(attempts == 3)
        // NLMSG_DONE with a negative errno and an extended-ACK message is a kernel refusal.
        var failing = DumpCollector(operation: "dump routes")
        let done = part(NetlinkMessageType.done, payload: [0xf0, 0xff, 0xff, 0xff, 9, 0, 1, 0, 0x62, 0x75, 0x73, 0x79, 0, 0, 0, 0])
        do {
            try failing.consume(done)
            Issue.record("no error")
        } catch let NetlinkError.kernel(r) {
            #expect(r.errno == EBUSY && r.kernelMessage == "busy")
        }
    }
}

@Suite(.enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"))
struct NamespaceSocketTests {
    @Test func dumpSpansManyDatagramsAndMatchesIp() throws {
        try TestNamespace.with { ns in
            try addVethPairs(ns, pairs: 200)
            let h = try NetlinkHandle(namespace: ns.namespace)
            defer { h.close() }
            let before = try h.withSocket { $0.statistics.datagramsReceived }
            let names = try linkNames(h.withSocket { try $0.dump(linkDumpRequest(), operation: "dump links") })
            #expect(names.count == 401)
            #expect(try h.withSocket { $0.statistics.datagramsReceived } - before > 10)
            let ipNames = try ns.ipJSON("link", "show").compactMap { $0["ifname"] as? String }
            #expect(names.sorted() == ipNames.sorted())
        }
    }

    @Test func interruptedDumpIsRetriedToAConsistentResult() throws {
        // Addresses change under the dump from another thread; a dump the kernel marks
        // NLM_F_DUMP_INTR is re-run. Whether an interruption happens is up to timing, so
        // the assertion is on the result: every stable address exactly once, every time.
        try TestNamespace.with { ns in
            // 2,000 addresses (about 200 KB of replies, several datagrams: the kernel checks
            // for changes between datagrams) on one link; the churn happens on another.
            try addVethPairs(ns, pairs: 2)
            let stable = Set((0..<2000).map { "198.51.\(100 + $0 / 250).\($0 % 250 + 1)" })
            let batch = stable.map { "addr add \($0)/32 dev va0" }.joined(separator: "\n") + "\n"
            let r = try TestEnvironment.run(["ip", "-n", ns.name, "-batch", "-"], stdin: batch)
            try #require(r.status == 0, "\(r.stderr)")
            let churnIndex = try #require(ns.ipJSON("link", "show", "va1").first?["ifindex"] as? Int)
            let stop = Flag()
            let churned = Counter()
            let churn = Thread {
                var i = 0
                let churner = try? NetlinkHandle(namespace: ns.namespace)
                while !stop.isSet, let churner {
                    // ip addr add/del 203.0.113.N/32 dev va0, through sandnet itself.
                    let add = i % 2 == 0
                    var attrs = AttributeWriter()
                    attrs.add(IFA.LOCAL, [203, 0, 113, UInt8(i / 2 % 200 + 1)])
                    let m = NetlinkMessage(
                        type: add ? RTM.NEWADDR : RTM.DELADDR, flags: add ? [.create, .replace] : [],
                        body: IfAddrMessage(family: AddressFamily.INET, prefixLength: 32, index: UInt32(churnIndex)).bytes,
                        attributes: attrs)
                    do {
                        _ = try churner.withSocket(.route) { try $0.execute(m, operation: "churn") }
                        churned.add()
                    } catch {}
                    i += 1
                    // Bursts with quiet gaps: a dump that starts in a gap can finish, so the
                    // retries converge even on a loaded machine.
                    if i % 20 == 0 { usleep(50_000) }
                }
                churner?.close()
                stop.done()
            }
            churn.start()
            defer {
                stop.set()
                if !stop.waitDone(within: 30) { Issue.record("the churn thread did not stop within 30 s of being told to") }
            }
            let h = try NetlinkHandle(namespace: ns.namespace)
            defer { h.close() }
            try h.withSocket { $0.dumpRetries = 50 }
            for _ in 0..<30 {
                let replies = try h.withSocket {
                    try $0.dump(
                        NetlinkMessage(type: RTM.GETADDR, flags: [.request, .dump], body: IfAddrMessage(family: AddressFamily.INET).bytes),
                        operation: "dump addresses")
                }
                let addrs = try replies.compactMap { m -> String? in
                    let a = try IfAddrMessage.decode(m).1
                    return (a.first(IFA.LOCAL) ?? a.first(IFA.ADDRESS)).flatMap { IPAddress(bytes: $0.payload) }?.description
                }
                let seen = addrs.filter { stable.contains($0) }
                #expect(seen.count == stable.count && Set(seen) == stable)
            }
            #expect(churned.value > 0, "the churn thread changed nothing")
            print(
                "dump-intr: \(try h.withSocket { $0.statistics.interruptedDumps }) interrupted address dumps retried in 30 scans, \(churned.value) changes"
            )
        }
    }
}

final class Flag: Sendable {
    private let value = Mutex(false)
    private let finished = DispatchSemaphore(value: 0)
    var isSet: Bool { value.withLock { $0 } }
    func set() { value.withLock { $0 = true } }
    func done() { finished.signal() }
    func waitDone(within seconds: TimeInterval) -> Bool { finished.wait(timeout: .now() + seconds) == .success }
}
