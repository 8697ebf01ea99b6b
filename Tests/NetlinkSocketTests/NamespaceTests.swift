import CSandnetLinux
import Foundation
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
            let sleeper = Process()
            sleeper.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            sleeper.arguments = ["ip", "netns", "exec", ns.name, "sleep", "30"]
            try sleeper.run()
            defer { kill(sleeper.processIdentifier, SIGKILL); sleeper.waitUntilExit() }
            // `ip netns exec` execs sleep in place, so the pid is the same once it is in.
            var byPid: NamespaceIdentity?
            for _ in 0..<200 where byPid != byName {
                byPid = try? NetworkNamespace.process(sleeper.processIdentifier).identity()
                if byPid != byName { usleep(10_000) }
            }
            #expect(byPid == byName)
            _ = try ns.ip("link", "add", "pa0", "type", "veth", "peer", "name", "pb0")
            for target in [ns.namespace, .path("/run/netns/\(ns.name)"), .process(sleeper.processIdentifier)] {
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

/// The two process-wide checks: they count threads and descriptors of the whole
/// process, so they run one at a time.
@Suite(.serialized, .enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"))
struct ProcessHygieneTests {
    @Test func noThreadIsLeftInAForeignNamespace() throws {
        try TestNamespace.with { ns in
            let home = try #require(inode("/proc/self/ns/net"))
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
            let tasks = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")
            #expect(tasks.count > 1)
            var foreign: [String] = []
            for tid in tasks {
                // A thread may exit between the listing and the stat: skip it, it is gone.
                guard let ino = inode("/proc/self/task/\(tid)/ns/net") else { continue }
                if ino != home { foreign.append(tid) }
            }
            #expect(foreign.isEmpty, "threads in a foreign namespace: \(foreign)")
            // And the handles really were in the other namespace.
            let h = try NetlinkHandle(namespace: ns.namespace)
            defer { h.close() }
            #expect(try linkNames(h.withSocket { try $0.dump(linkDumpRequest(), operation: "dump") }) == ["lo"])
        }
    }

    @Test func handleOpenCloseLeaksNoDescriptor() throws {
        try TestNamespace.with { ns in
            // Warm up: the thread pool and its home descriptor exist before counting.
            for _ in 0..<10 { try NetlinkHandle(namespace: ns.namespace).close() }
            let before = openFDCount()
            for i in 0..<10_000 {
                let h = try NetlinkHandle(namespace: i % 2 == 0 ? ns.namespace : nil)
                h.close()
            }
            #expect(openFDCount() == before)
        }
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock(); private var n = 0
    func add() { lock.lock(); n += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return n }
}
