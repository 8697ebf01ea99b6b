import CSandnetLinux
import Foundation
import NetlinkCodec
import NetlinkSocket
import ProcessRunner
import Synchronization
import TestSupport
import Testing

@Suite(.enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"))
struct NamespaceTests {
    @Test func createdNamespaceIsSeenAndUsableByIproute2() throws {
        let name = "sntc-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try NetworkNamespace.create(named: name)
        var deleted = false
        defer { if !deleted { try? NetworkNamespace.delete(named: name) } }
        #expect(NetworkNamespace.listNamed().contains(name))
        #expect(try TestEnvironment.sh("ip", "netns", "list").contains(name))
        _ = try TestEnvironment.sh("ip", "-n", name, "link", "add", "ca0", "type", "veth", "peer", "name", "cb0")
        let h = try NetlinkHandle(namespace: .named(name))
        #expect(try linkNames(h.withSocket { try $0.dump(linkDumpRequest(), operation: "dump links") }).sorted() == ["ca0", "cb0", "lo"])
        h.close()
        try NetworkNamespace.delete(named: name)
        deleted = true
        #expect(!NetworkNamespace.listNamed().contains(name))
        #expect(!(try TestEnvironment.sh("ip", "netns", "list").contains(name)))
        #expect(try TestEnvironment.run(["ip", "-n", name, "link"]).status != 0)
    }

    @Test func openByNamePathAndPidReachTheSameNamespace() throws {
        try TestNamespace.with { ns in
            let byName = try ns.namespace.identity()
            #expect(try NetworkNamespace.path("/run/netns/\(ns.name)").identity() == byName)
            #expect(try NetworkNamespace.parse("/run/netns/\(ns.name)").identity() == byName)
            // A process living in the namespace: its /proc/PID/ns/net is the same namespace.
            let sleeper = try ProcessRunner.spawn(["ip", "netns", "exec", ns.name, "sleep", "30"])
            defer { sleeper.kill() }
            // `ip netns exec` execs sleep in place, so the pid is the same once it is in.
            var byPid: NamespaceIdentity?
            for _ in 0..<200 where byPid != byName {
                byPid = try? NetworkNamespace.process(sleeper.pid).identity()
                if byPid != byName { usleep(10_000) }
            }
            #expect(byPid == byName)
            _ = try ns.ip("link", "add", "pa0", "type", "veth", "peer", "name", "pb0")
            for target in [ns.namespace, .path("/run/netns/\(ns.name)"), .process(sleeper.pid)] {
                let h = try NetlinkHandle(namespace: target)
                defer { h.close() }
                #expect(
                    try linkNames(h.withSocket { try $0.dump(linkDumpRequest(), operation: "dump links") }).contains("pa0"), "\(target)")
            }
        }
    }

    @Test func missingNamespaceIsATypedError() throws {
        let missing = NetworkNamespace.named("sntc-missing-\(getpid())")
        do {
            _ = try NetlinkHandle(namespace: missing)
            Issue.record("opened a namespace that does not exist")
        } catch let e as NetlinkError {
            #expect(e.errno == ENOENT)
            #expect(e.description.contains(missing.path))
            #expect(e.hint?.contains("ip netns list") == true)
        }
        #expect(throws: NetlinkError.self) { try NetworkNamespace.delete(named: "sntc-missing-\(getpid())") }
        #expect(throws: NetlinkError.self) { try NetworkNamespace.create(named: "bad/name") }
    }

    @Test func namespaceHandleSeesOnlyItsNamespace() throws {
        try TestNamespace.with { ns in
            _ = try ns.ip("link", "add", "only0", "type", "veth", "peer", "name", "only1")
            let inside = try NetlinkHandle(namespace: ns.namespace)
            let host = try NetlinkHandle()
            defer {
                inside.close()
                host.close()
            }
            #expect(try linkNames(inside.withSocket { try $0.dump(linkDumpRequest(), operation: "dump") }).contains("only0"))
            #expect(!(try linkNames(host.withSocket { try $0.dump(linkDumpRequest(), operation: "dump") }).contains("only0")))
        }
    }
}

/// The two process-wide checks: no thread left in a foreign namespace, no descriptor left
/// open. They run in a process of their own, one test at a time (see
/// TestEnvironment.leakChecksIsolated), so the process-wide views are exact: every thread
/// is at home and the descriptor count is what it was. The checks on this test's own
/// namespace (no thread in it, no descriptor pointing at it or at a socket in it) stay.
@Suite(
    .serialized, .enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"),
    .enabled(if: TestEnvironment.leakChecksIsolated, Comment(rawValue: TestEnvironment.leakCheckSkipReason)))
struct ProcessHygieneLeakChecks {
    @Test func noThreadIsLeftInAForeignNamespace() throws {
        try TestNamespace.with { ns in
            let home = try #require(inode("/proc/self/ns/net"))
            let target = try #require(inode(ns.namespace.path))
            let failures = Counter()
            let group = DispatchGroup()
            for _ in 0..<2 {
                let t = Thread {
                    for _ in 0..<500 {
                        do {
                            let h = try NetlinkHandle(namespace: ns.namespace)
                            h.close()
                        } catch { failures.add() }
                    }
                    group.leave()
                }
                group.enter()
                t.start()
            }
            try BoundedWait.wait(group, within: 120, "two threads opening and closing 500 handles each")
            #expect(failures.value == 0)
            #expect(try FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").count > 1)
            #expect(threads(in: target).isEmpty, "threads left in the test namespace")
            // Nothing else runs here: a worker goes home before its job returns, so no thread
            // of this process may be anywhere but at home now.
            let foreign = threads { $0 != home }
            #expect(foreign.isEmpty, "threads in a foreign namespace after every handle closed: \(foreign)")
            // And the handles really were in the other namespace.
            let h = try NetlinkHandle(namespace: ns.namespace)
            defer { h.close() }
            #expect(try linkNames(h.withSocket { try $0.dump(linkDumpRequest(), operation: "dump") }) == ["lo"])
        }
    }

    @Test func handleOpenCloseLeaksNoDescriptor() throws {
        try TestNamespace.with { ns in
            let target = try #require(inode(ns.namespace.path))
            // Warm up: the thread pool and its home descriptor exist before counting; workers
            // a previous test let go may still be closing theirs.
            for _ in 0..<10 { try NetlinkHandle(namespace: ns.namespace).close() }
            let fdsBefore = steadyFDCount()
            let ownBefore = try descriptorsInto(ns, namespaceInode: target)
            #expect(ownBefore == 0)
            var used = Set<Int32>()
            for _ in 0..<10_000 {
                let h = try NetlinkHandle(namespace: ns.namespace)
                used.insert(try h.withSocket { $0.fd })
                h.close()
            }
            #expect(try descriptorsInto(ns, namespaceInode: target) == 0)
            // Descriptor numbers are reused, not piled up.
            #expect(used.count < 64, "\(used.count) distinct descriptor numbers for 10,000 sequential handles")
            // Alone in the process: the count is exactly what it was.
            let fdsAfter = steadyFDCount()
            #expect(fdsAfter == fdsBefore, "open descriptors \(fdsBefore) before 10,000 handles, \(fdsAfter) after")
        }
    }

    /// The open descriptor count once two readings 100 ms apart agree (at most 3 s): a
    /// worker thread that was told to stop closes its home descriptor on its way out.
    private func steadyFDCount() -> Int {
        var last = openFDCount()
        for _ in 0..<30 {
            usleep(100_000)
            let now = openFDCount()
            if now == last { return now }
            last = now
        }
        return last
    }

    /// Thread ids of this process whose network namespace inode satisfies `where`.
    private func threads(_ where: (UInt64) -> Bool) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []).filter { tid in
            // A thread may exit between the listing and the stat: then it is gone, not foreign.
            inode("/proc/self/task/\(tid)/ns/net").map(`where`) ?? false
        }
    }
    private func threads(in namespace: UInt64) -> [String] { threads { $0 == namespace } }

    /// Descriptors of this process that hold the namespace open, plus user netlink
    /// sockets that live in it (its /proc/net/netlink, read from inside).
    private func descriptorsInto(_ ns: TestNamespace, namespaceInode: UInt64) throws -> Int {
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        let links = fds.compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\($0)") }
        let namespaceFDs = links.filter { $0 == "net:[\(namespaceInode)]" }.count
        let table = try ns.namespace.run { try String(contentsOfFile: "/proc/thread-self/net/netlink", encoding: .utf8) }
        // sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode: user sockets have Pid != 0.
        let userSockets = table.split(separator: "\n").dropFirst().map { $0.split(separator: " ") }.filter {
            $0.count >= 10 && $0[2] != "0"
        }
        let socketInodes = Set(userSockets.map { "socket:[\($0[9])]" })
        return namespaceFDs + links.filter { socketInodes.contains($0) }.count + userSockets.count
    }
}

final class Counter: Sendable {
    private let n = Mutex(0)
    func add() { n.withLock { $0 += 1 } }
    var value: Int { n.withLock { $0 } }
}

/// Issue 11.2: the namespace cookie tells namespaces apart where (device, inode) may not.
@Suite struct NamespaceCookieTests {
    @Test(.enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"))
    func cookieIsTheNamespacesAndDiffersBetweenNamespaces() throws {
        try TestNamespace.with { (a: TestNamespace) throws in
            try TestNamespace.with { (b: TestNamespace) throws in
                guard let ca = try a.namespace.cookie() else {
                    print("skipped: the kernel has no SO_NETNS_COOKIE (Linux 5.14+)")
                    return
                }
                #expect(try NetworkNamespace.path("/run/netns/\(a.name)").cookie() == ca, "same namespace, same cookie by any path")
                #expect(try b.namespace.cookie() != ca)
                let rt = try NetlinkHandle(namespace: a.namespace)
                defer { rt.close() }
                #expect(try rt.namespaceCookie() == ca, "a socket made in the namespace carries its cookie")
                // Deleted and made again under the same name: a new cookie, whatever the inode.
                try NetworkNamespace.delete(named: a.name)
                try NetworkNamespace.create(named: a.name)
                #expect(try a.namespace.cookie() != ca)
            }
        }
    }

    @Test(.enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"))
    func canonicalPathsMeanTheSameFromAnyDirectory() throws {
        try TestNamespace.with { (a: TestNamespace) throws in
            let run = NetworkNamespace.runDirectory
            #expect(try NetworkNamespace.parse("./\(a.name)").canonical(workingDirectory: run).path == "/run/netns/\(a.name)")
            #expect(try NetworkNamespace.parse("../netns/./\(a.name)").canonical(workingDirectory: run).path == "/run/netns/\(a.name)")
            #expect(try NetworkNamespace.parse(a.name).canonical().path == "/run/netns/\(a.name)")
            #expect(try NetworkNamespace.parse("/proc/1/ns/net").canonical().path == "/proc/1/ns/net", "a pid's path is kept")
            #expect(throws: NetlinkError.self) { try NetworkNamespace.parse("./no-such-\(a.name)").canonical(workingDirectory: run) }
        }
    }
}
