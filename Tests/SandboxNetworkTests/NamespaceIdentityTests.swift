import Foundation
import NetlinkSocket
import SandboxNetwork
import TestSupport
import Testing

extension SandboxIntegration {
    /// Issue 11.2: a journal names its namespace by a path that means the same from anywhere and
    /// by an identity no later namespace can have; a journal whose namespace is gone or replaced
    /// is removed without touching any namespace.
    @Suite(.serialized) struct NamespaceIdentityTests {
        /// Seen: `cd /run/netns && sandnet attach --netns ./X`, then a detach from another
        /// directory said "namespace ./X is gone; nothing left to undo", exited 0, and left a tap
        /// and two qdiscs behind.
        @Test(
            .enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"),
            .enabled(if: SandnetBinary.exists, "the sandnet binary is not built (swift build)"))
        func aRelativeNamespacePathIsUndoneFromAnotherDirectory() throws {
            try PodFixture.withEndpoint { f in
                let before = try f.snapshot()
                let state = StateDirectory()
                let a = try TestEnvironment.run([
                    "/bin/sh", "-c", "cd /run/netns && exec \"$0\" \"$@\"", SandnetBinary.path,
                    "attach", "--netns", "./\(f.pod.name)", "--sandbox", "rel", "--state-dir", state.path
                ])
                try #require(a.status == 0, "\(a.stderr)")
                #expect(try f.snapshot() != before, "the attach made its tap and qdiscs")
                let d = try TestEnvironment.run([
                    "/bin/sh", "-c", "cd / && exec \"$0\" \"$@\"", SandnetBinary.path,
                    "detach", "--sandbox", "rel", "--state-dir", state.path
                ])
                #expect(d.status == 0, "\(d.stderr)")
                #expect(d.stdout.contains("detached from /run/netns/\(f.pod.name)"), "\(d.stdout)")
                let after = try f.snapshot()
                #expect(after == before, "\(firstDifference(before, after))")
            }
        }

        /// A namespace deleted and another made under the same name (nsfs inode numbers are
        /// reused, so it may well get the same inode; if not, the journal's inode is rewritten to
        /// the new one's, which is what reuse looks like): detach touches nothing in the new one.
        @Test(
            .enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"),
            .enabled(if: SandnetBinary.exists, "the sandnet binary is not built (swift build)"))
        func aNamespaceWithTheDeletedOnesInodeIsNotTouched() throws {
            try PodFixture.with { f in
                try f.addEndpoint("eth0", .veth, number: 0)
                let state = StateDirectory()
                let a = try SandnetBinary.run(["attach", "--netns", f.pod.name, "--sandbox", "reuse", "--state-dir", state.path, "--json"])
                try #require(a.status == 0, "\(a.stderr)")
                let journalPath = "\(state.path)/sandboxes/reuse.json"
                var journal = try #require(
                    try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: journalPath))) as? [String: Any])
                let group = try #require(journal["linkGroup"] as? Int)
                let tap = try #require(((journal["steps"] as? [[String: Any]])?.first?["createLink"] as? [String: Any])?["name"] as? String)

                // The pod goes away (and its tap with it); a new namespace takes its name.
                let oldInode = try f.pod.namespace.identity().inode
                try NetworkNamespace.delete(named: f.pod.name)
                try NetworkNamespace.create(named: f.pod.name)
                let new = try f.pod.namespace.identity()
                print(
                    "deleted namespace had inode \(oldInode); the new one got \(new.inode)\(new.inode == oldInode ? " (reused)" : "; journal rewritten to it")"
                )
                journal["namespaceDevice"] = Int(new.device)
                journal["namespaceInode"] = Int(new.inode)
                try JSONSerialization.data(withJSONObject: journal).write(to: URL(fileURLWithPath: journalPath))
                chmod(journalPath, 0o600)
                // What an undo of the old journal would delete, present in the new namespace: an
                // eth0 with an ingress qdisc and a link of the tap's name in the sandbox's group.
                try f.pod.ip("link", "add", "eth0", "type", "veth", "peer", "name", tap)
                try f.pod.ip("link", "set", tap, "group", "\(group)")
                try f.pod.tc("qdisc", "add", "dev", "eth0", "ingress")
                let before = try f.snapshot()

                let d = try SandnetBinary.run(["detach", "--sandbox", "reuse", "--state-dir", state.path])
                #expect(d.status == 0, "\(d.stderr)")
                #expect(d.stdout.contains("now names another namespace"), "\(d.stdout)")
                #expect(!FileManager.default.fileExists(atPath: journalPath), "the journal is removed")
                let after = try f.snapshot()
                #expect(after == before, "the new namespace was touched: \(firstDifference(before, after))")
            }
        }

        /// `/proc/self/ns/net` is the attach process's own namespace: the journal must not keep
        /// a path that dies with it. Named under /run/netns it becomes that name.
        @Test(
            .enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"),
            .enabled(if: SandnetBinary.exists, "the sandnet binary is not built (swift build)"))
        func procSelfBecomesTheNamespacesStableName() throws {
            try PodFixture.with { f in
                try f.addEndpoint("eth0", .veth, number: 0)
                let state = StateDirectory()
                let a = try TestEnvironment.run([
                    "ip", "netns", "exec", f.pod.name, SandnetBinary.path,
                    "attach", "--netns", "/proc/self/ns/net", "--sandbox", "self", "--state-dir", state.path
                ])
                try #require(a.status == 0, "\(a.stderr)")
                let journal = try String(contentsOfFile: "\(state.path)/sandboxes/self.json", encoding: .utf8)
                #expect(journal.contains(#""namespacePath":"/run/netns/\#(f.pod.name)""#), "\(journal.prefix(300))")
                #expect(journal.contains(#""namespaceCookie":"#), "the cookie is recorded")
                let d = try SandnetBinary.run(["detach", "--sandbox", "self", "--state-dir", state.path])
                #expect(d.status == 0 && d.stdout.contains("changes undone"), "\(d.stdout) \(d.stderr)")
            }
        }
    }
}
