import Foundation
import ProcessRunner
import SandboxNetwork
import SandnetCore
import TestSupport
import Testing

extension SandboxIntegration {
    /// Issue 11 point 3: an undo touches only what sandnet made, found by ifindex (a rename
    /// does not hide it), and never another tool's qdisc or filter, even during a rollback.
    @Suite(.serialized) struct UndoOwnershipTests {
        /// Waits (bounded) until process `pid` is stopped (state T in /proc/PID/stat).
        static func waitStopped(_ pid: Int32) -> Bool {
            for _ in 0..<500 {
                let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
                if stat.split(separator: ")").last?.split(separator: " ").first == "T" { return true }
                usleep(20_000)
            }
            return false
        }

        /// The race seen: another tool adds an ingress qdisc and a filter on the endpoint between
        /// sandnet's check and its own add. The attach fails with EEXIST; its rollback must leave
        /// the other tool's qdisc and filter alone (it deleted them before).
        @Test(
            .enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"),
            .enabled(if: LabBinary.exists, "the sandnet-lab binary is not built (swift build)"))
        func rollbackLeavesAQdiscAnotherToolAddedDuringTheAttach() throws {
            try PodFixture.withEndpoint { f in
                let before = try f.snapshot()
                let state = StateDirectory()
                // Kernel change 1 makes the tap; eth0's datagram (tap up, mtu, group; both ingress
                // qdiscs and redirects) comes next: the other tool's qdisc is there before it.
                let p = try ProcessRunner.spawn([
                    LabBinary.path, "fault-attach", "--stop-after", "1", "--netns", f.pod.namespace.path,
                    "--sandbox", "race", "--model", "tcfilter", "--vcpus", "1", "--state-dir", state.path
                ])
                defer {
                    p.signal(SIGCONT)
                    _ = try? p.wait(timeout: .seconds(60))
                }
                try #require(Self.waitStopped(p.pid), "the attach did not reach its pause point")
                try #require(
                    try f.pod.tcJSON("qdisc", "show", "dev", "eth0").allSatisfy { $0["kind"] as? String != "ingress" },
                    "paused too late: sandnet's ingress qdisc is already on eth0")
                try f.pod.tc("qdisc", "add", "dev", "eth0", "ingress")
                try f.pod.tc(
                    "filter", "add", "dev", "eth0", "parent", "ffff:", "protocol", "ip", "pref", "7", "u32",
                    "match", "ip", "dst", "203.0.113.7/32", "flowid", "1:7")
                let foreign = try f.pod.tcJSON("filter", "show", "dev", "eth0", "ingress")
                p.signal(SIGCONT)
                #expect(try p.wait(timeout: .seconds(60)) == .exited(1), "the attach must fail on the qdisc that is now there")
                let qdiscs = try f.pod.tcJSON("qdisc", "show", "dev", "eth0")
                #expect(qdiscs.contains { $0["kind"] as? String == "ingress" }, "the rollback deleted the other tool's qdisc: \(qdiscs)")
                let filters = try f.pod.tcJSON("filter", "show", "dev", "eth0", "ingress")
                #expect(
                    filters.count == foreign.count && filters.contains { $0["pref"] as? Int == 7 },
                    "the other tool's filter must stay as it was: \(filters)")
                #expect(JournalStore(directory: state.path).sandboxes().isEmpty, "a complete rollback removes its journal")
                // Everything sandnet made is gone: without the other tool's qdisc the pod is as before.
                try f.pod.tc("qdisc", "del", "dev", "eth0", "ingress")
                let after = try f.snapshot()
                #expect(after == before, "\(firstDifference(before, after))")
            }
        }

        /// An endpoint renamed while attached is still undone, by ifindex: no redirect to the
        /// deleted tap and no qdisc sandnet made remains, and the macvtap endpoint gets its MAC
        /// and addresses back (before: detach said "undone" and left all of it).
        @Test(
            .enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"),
            arguments: [NetworkModel.tcfilter, .macvtap])
        func anEndpointRenamedWhileAttachedIsStillUndone(_ model: NetworkModel) throws {
            try PodFixture.withEndpoint { f in
                let before = try f.snapshot()
                let state = StateDirectory()
                let store = JournalStore(directory: state.path)
                let r = try SandboxAttach.attach(
                    AttachSettings(sandbox: "ren", namespace: f.pod.namespace.path, model: model, vcpus: 1),
                    store: store)
                r.closeDescriptors()
                try f.pod.ip("link", "set", "eth0", "name", "renamed0")
                let report = try SandboxDetach.detach(sandbox: "ren", store: store)
                #expect(!report.undone.isEmpty)
                let filters = try f.pod.tcJSON("filter", "show", "dev", "renamed0", "ingress")
                #expect(!"\(filters)".contains("mirred"), "a redirect to the deleted tap remains: \(filters)")
                let qdiscs = try f.pod.tcJSON("qdisc", "show", "dev", "renamed0")
                #expect(qdiscs.allSatisfy { $0["kind"] as? String != "ingress" }, "sandnet's ingress qdisc remains: \(qdiscs)")
                try f.pod.ip("link", "set", "renamed0", "name", "eth0")
                let after = try f.snapshot()
                #expect(after == before, "\(firstDifference(before, after))")
            }
        }

        /// A MAC sandnet set is put back only while the endpoint still has it: one set since by
        /// someone else stays, and detach says so and fails rather than claim it undid it.
        @Test(.enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"))
        func aMACChangedByAnotherToolIsLeftAndReported() throws {
            try PodFixture.withEndpoint { f in
                let state = StateDirectory()
                let store = JournalStore(directory: state.path)
                let r = try SandboxAttach.attach(
                    AttachSettings(sandbox: "mac", namespace: f.pod.namespace.path, model: .macvtap, vcpus: 1),
                    store: store)
                r.closeDescriptors()
                try f.pod.ip("link", "set", "eth0", "address", "02:00:00:00:5e:01")
                #expect {
                    _ = try SandboxDetach.detach(sandbox: "mac", store: store)
                } throws: { e in
                    "\(e)".contains("eth0") && "\(e)".contains("02:00:00:00:5e:01")
                }
                #expect(try f.pod.ipJSON("link", "show", "eth0").first?["address"] as? String == "02:00:00:00:5e:01")
            }
        }
        /// A journal whose qdisc add was never confirmed (sandnet killed between the add and
        /// the record of it), or whose confirmed qdisc now carries another tool's filter: the
        /// qdisc may be another tool's, or deleting it would take that filter along. Detach
        /// leaves it, names it and fails, keeping the journal.
        @Test(.enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"))
        func aQdiscSandnetCannotProveItsOwnIsLeftAndReported() throws {
            try PodFixture.with { f in
                try f.addEndpoint("eth0", .veth, number: 0)
                try f.pod.tc("qdisc", "add", "dev", "eth0", "ingress")
                try f.pod.tc(
                    "filter", "add", "dev", "eth0", "parent", "ffff:", "protocol", "ip", "pref", "7", "u32",
                    "match", "ip", "dst", "203.0.113.7/32", "flowid", "1:7")
                let index = try #require(try f.pod.ipJSON("link", "show", "eth0").first?["ifindex"] as? Int)
                let identity = try f.pod.namespace.identity()
                let state = StateDirectory()
                let store = JournalStore(directory: state.path)
                let steps: [(String, JournalStep)] = [
                    ("unconfirmed", .addIngressQdisc(link: "eth0", ifindex: Int32(index))),
                    ("foreign", .addIngressQdisc(link: "eth0", ifindex: Int32(index), added: true))
                ]
                for (id, step) in steps {
                    var j = SandboxJournal(
                        sandbox: id, namespacePath: f.pod.namespace.path, identity: identity, linkGroup: SandboxLinkGroup.base + 1)
                    j.steps = [step]
                    try store.write(j)
                    #expect {
                        _ = try SandboxDetach.detach(sandbox: id, store: store)
                    } throws: { e in
                        "\(e)".contains("left qdisc ingress dev eth0") && "\(e)".contains(id == "foreign" ? "u32 pref 7" : "recording")
                    }
                    #expect(try f.pod.tcJSON("qdisc", "show", "dev", "eth0").contains { $0["kind"] as? String == "ingress" })
                    #expect(try f.pod.tcJSON("filter", "show", "dev", "eth0", "ingress").contains { $0["pref"] as? Int == 7 })
                    #expect(try store.read(sandbox: id) != nil, "a detach that left something must keep the journal")
                }
            }
        }
    }
}
