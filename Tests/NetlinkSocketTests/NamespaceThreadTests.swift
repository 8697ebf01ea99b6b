import CSandnetLinux
import Foundation
import NetlinkCodec
import NetlinkSocket
import Synchronization
import TestSupport
import Testing

// capget/capset are in glibc but declared only by libcap's header; their C ABI is two pointers.
@_silgen_name("capget") private func capget(_ header: UnsafeMutableRawPointer, _ data: UnsafeMutableRawPointer) -> Int32
@_silgen_name("capset") private func capset(_ header: UnsafeMutableRawPointer, _ data: UnsafeMutableRawPointer) -> Int32

/// Drops CAP_SYS_ADMIN from the calling thread's effective set (capabilities are per
/// thread), so that thread can no longer setns anywhere, home included.
private func dropSysAdminOnThisThread() throws {
    // struct __user_cap_header_struct { u32 version (_LINUX_CAPABILITY_VERSION_3); int pid (0: this thread) }
    var header: [UInt32] = [0x2008_0522, 0]
    // struct __user_cap_data_struct[2] { u32 effective, permitted, inheritable }
    var data = [UInt32](repeating: 0, count: 6)
    guard capget(&header, &data) == 0 else { throw TestFailure("capget: errno \(errno)") }
    let capSysAdmin = 21
    data[0] &= ~(UInt32(1) << capSysAdmin)
    guard capset(&header, &data) == 0 else { throw TestFailure("capset: errno \(errno)") }
}

/// The namespace threads: reused, never a thread that could not get home, and the sockets
/// they make are in the namespace asked for.
@Suite(.serialized, .enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"))
struct NamespaceThreadTests {
    @Test func aWorkerThatCannotGoHomeIsNeverUsedAgain() throws {
        try TestNamespace.with { ns in
            let home = try #require(inode("/proc/self/ns/net"))
            // The job runs and returns; only the switch home fails, so the job's own result
            // still reaches the caller.
            let stuck = try ns.namespace.run { () throws -> Int32 in
                try dropSysAdminOnThisThread()
                return sandnet_gettid()
            }
            // That thread exits rather than stay in the namespace (bounded wait).
            var gone = false
            for _ in 0..<500 where !gone {
                gone = !FileManager.default.fileExists(atPath: "/proc/self/task/\(stuck)")
                if !gone { usleep(10_000) }
            }
            #expect(gone, "thread \(stuck), stuck in \(ns.name), still exists")
            // Every later job, whatever CPU its caller is on, runs on another thread and goes home.
            var seen = Set<Int32>()
            for _ in 0..<200 {
                let tid = try ns.namespace.run { sandnet_gettid() }
                seen.insert(tid)
                #expect(inode("/proc/self/task/\(tid)/ns/net") == home, "worker \(tid) not at home after its job")
            }
            #expect(!seen.contains(stuck))
            // Reused, not one thread per job: one per CPU, plus spares when the caller moves mid-job.
            #expect(seen.count <= ProcessInfo.processInfo.activeProcessorCount + 4, "\(seen.count) threads for 200 sequential jobs")
        }
    }

    @Test func aJobThatRunsANamespaceJobGetsAThreadThatGoesHome() throws {
        try TestNamespace.with { ns in
            let home = try #require(inode("/proc/self/ns/net"))
            let target = try #require(inode(ns.namespace.path))
            // The inner job's thread is started from inside the namespace; it must still call
            // the process's namespace home.
            let (outer, inner) = try ns.namespace.run { () throws -> (UInt64?, Int32) in
                let inner = try NetworkNamespace.current.run { sandnet_gettid() }
                return (inode("/proc/thread-self/ns/net"), inner)
            }
            #expect(outer == target)
            #expect(inode("/proc/self/task/\(inner)/ns/net") == home)
        }
    }

    @Test func handleSocketsAreInTheNamespaceAskedForAndCloseOnExec() throws {
        try TestNamespace.with { ns in
            _ = try ns.ip("link", "add", "nt0", "type", "veth", "peer", "name", "nt1")
            let h = try NetlinkHandle(namespace: ns.namespace, families: [.route, .generic])
            defer { h.close() }
            for family in [NetlinkProtocol.route, .generic] {
                let fd = try h.withSocket(family) { $0.fd }
                #expect(fcntl(fd, F_GETFD) & FD_CLOEXEC != 0, "\(family) socket not CLOEXEC")
                // SIOCGSKNS: the namespace a socket belongs to, as an nsfs descriptor.
                let nsfd = ioctl(fd, 0x894C)
                #expect(nsfd >= 0, "SIOCGSKNS: errno \(errno)")
                if nsfd >= 0 {
                    var st = stat()
                    fstat(nsfd, &st)
                    close(nsfd)
                    #expect(UInt64(st.st_ino) == inode(ns.namespace.path), "\(family) socket in another namespace")
                }
            }
            // What the handle sees is what iproute2 sees in that namespace.
            let names = try linkNames(h.withSocket { try $0.dump(linkDumpRequest(), operation: "dump links") }).sorted()
            let ipNames = try JSONSerialization.jsonObject(with: Data(try ns.ip("-j", "link", "show").utf8)) as? [[String: Any]]
            #expect(names == (ipNames ?? []).compactMap { $0["ifname"] as? String }.sorted())
            #expect(names.contains("nt0"))
        }
    }

    @Test func aFileThatIsNotANetworkNamespaceIsRefusedWithTheReason() throws {
        let file = "/tmp/sntc-notns-\(getpid())"
        _ = FileManager.default.createFile(atPath: file, contents: Data("x".utf8))
        defer { unlink(file) }
        do {
            _ = try NetlinkHandle(namespace: .path(file))
            Issue.record("opened a regular file as a namespace")
        } catch let e as NetlinkError {
            #expect(e.description.contains("is not a network namespace (it is a regular file)"), "\(e)")
        }
        do {
            _ = try NetlinkHandle(namespace: .path("/proc/self/ns/uts"))
            Issue.record("opened a UTS namespace as a network namespace")
        } catch let e as NetlinkError {
            #expect(e.description.contains("it is a UTS namespace"), "\(e)")
        }
    }

    /// The caller's side of a hand-off to a worker on its own CPU: a yield that did not get
    /// the job done makes the next hand-offs sleep without yielding, twice as many each time.
    @Test func aYieldThatDoesNotGetTheJobDoneBacksOffAndDoublesEachTime() throws {
        let h = UnsafeMutablePointer<sandnet_handoff>.allocate(capacity: 1)
        h.initialize(to: sandnet_handoff())
        defer { h.deallocate() }
        nonisolated(unsafe) let shared = h
        // No worker runs here: the "job" is posted by a thread that sleeps first, so the
        // yield finds nothing to hand the CPU to and returns with the job not done.
        func handOffFinishedLate() {
            let poster = Thread {
                usleep(20_000)
                sandnet_handoff_finish(shared, 0)
            }
            poster.start()
            sandnet_handoff_wait_local(h) // returns once posted (bounded by the 20 ms sleep)
        }
        handOffFinishedLate()
        #expect(h.pointee.backoff == 64 && h.pointee.skip == 64, "after one lost yield: \(h.pointee)")
        // Done before the wait (the worker preempted the caller): nothing to judge, no yield.
        for left in (0..<64).reversed() {
            sandnet_handoff_finish(h, 0)
            sandnet_handoff_wait_local(h)
            #expect(h.pointee.skip == UInt32(left))
        }
        #expect(h.pointee.backoff == 64)
        handOffFinishedLate()
        #expect(h.pointee.backoff == 128 && h.pointee.skip == 128, "after a second lost yield: \(h.pointee)")
        // The post was consumed every time: nothing is left over for the next job.
        #expect(sandnet_handoff_done_posted(h) == 0)
    }

    /// Many short jobs in a row from one caller (the hand-off's fast path): every result is
    /// the job's own, and the sockets are in the namespace asked for.
    @Test func manyShortJobsInARowEachGetTheirOwnResult() throws {
        try TestNamespace.with { ns in
            let target = try #require(inode(ns.namespace.path))
            for i in 0..<2_000 {
                let (echo, seenInode) = try ns.namespace.run { (i, inode("/proc/thread-self/ns/net")) }
                #expect(echo == i && seenInode == target)
                if echo != i || seenInode != target { break }
            }
        }
    }
}
