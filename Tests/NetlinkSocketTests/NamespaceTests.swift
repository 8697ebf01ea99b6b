import CSandnetLinux
import Foundation
import ProcessRunner
import NetlinkCodec
import NetlinkSocket
import Testing
import TestSupport

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
                #expect(try linkNames(h.withSocket { try $0.dump(linkDumpRequest(), operation: "dump links") }).contains("pa0"), "\(target)")
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
            defer { inside.close(); host.close() }
            #expect(try linkNames(inside.withSocket { try $0.dump(linkDumpRequest(), operation: "dump") }).contains("only0"))
            #expect(!(try linkNames(host.withSocket { try $0.dump(linkDumpRequest(), operation: "dump") }).contains("only0")))
        }
    }
}

/// The two process-wide checks. Swift Testing runs other suites (and other targets) in
/// parallel in this same process, and their namespace workers are legitimately inside a
/// foreign namespace for the length of a job and open descriptors of their own. So the
/// strict assertions are about this test's own namespace, which nothing else touches:
/// no thread may be in it, and no descriptor may point at it or at a socket in it. The
/// process-wide views are checked too, tolerating only what is transient.
@Suite(.serialized, .enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"))
struct ProcessHygieneTests {
    @Test func noThreadIsLeftInAForeignNamespace() throws {
        try TestNamespace.with { ns in
            let home = try #require(inode("/proc/self/ns/net"))
            let target = try #require(inode(ns.namespace.path))
            let failures = Counter()
            let group = DispatchGroup()
            for _ in 0..<2 {
                let t = Thread {
                    for _ in 0..<500 {
                        do { let h = try NetlinkHandle(namespace: ns.namespace); h.close() } catch { failures.add() }
                    }
                    group.leave()
                }
                group.enter(); t.start()
            }
            group.wait()
            #expect(failures.value == 0)
            #expect(try FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").count > 1)
            #expect(threads(in: target).isEmpty, "threads left in the test namespace")
            // Any other foreign thread must be a worker mid-job for another test: it goes home within seconds.
            var foreign = threads { $0 != home }
            for _ in 0..<50 where !foreign.isEmpty { usleep(100_000); foreign = foreign.filter { tid in inode("/proc/self/task/\(tid)/ns/net").map { $0 != home } ?? false } }
            #expect(foreign.isEmpty, "threads that stay in a foreign namespace: \(foreign)")
            // And the handles really were in the other namespace.
            let h = try NetlinkHandle(namespace: ns.namespace)
            defer { h.close() }
            #expect(try linkNames(h.withSocket { try $0.dump(linkDumpRequest(), operation: "dump") }) == ["lo"])
        }
    }

    @Test func handleOpenCloseLeaksNoDescriptor() throws {
        try TestNamespace.with { ns in
            let target = try #require(inode(ns.namespace.path))
            // Warm up: the thread pool and its home descriptor exist before counting.
            for _ in 0..<10 { try NetlinkHandle(namespace: ns.namespace).close() }
            let fdsBefore = openFDCount()
            let ownBefore = try descriptorsInto(ns, namespaceInode: target)
            #expect(ownBefore == 0)
            var used = Set<Int32>()
            for _ in 0..<10_000 {
                let h = try NetlinkHandle(namespace: ns.namespace)
                used.insert(try h.socket(.route).fd)
                h.close()
            }
            #expect(try descriptorsInto(ns, namespaceInode: target) == 0)
            // Descriptor numbers are reused, not piled up.
            #expect(used.count < 64, "\(used.count) distinct descriptor numbers for 10,000 sequential handles")
            let fdsAfter = openFDCount()
            if fdsAfter != fdsBefore {
                // Other suites running in parallel open and close descriptors too; this is
                // informational, the assertions above are the leak check.
                print("fd count \(fdsBefore) -> \(fdsAfter) (other tests run in parallel)")
            }
        }
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
        let userSockets = table.split(separator: "\n").dropFirst().map { $0.split(separator: " ") }.filter { $0.count >= 10 && $0[2] != "0" }
        let socketInodes = Set(userSockets.map { "socket:[\($0[9])]" })
        return namespaceFDs + links.filter { socketInodes.contains($0) }.count + userSockets.count
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock(); private var n = 0
    func add() { lock.lock(); n += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return n }
}
