import Foundation
import SandboxNetwork
import SandnetCore
import TestSupport
import Testing

extension SandboxIntegration {
    /// Issue 17: a tcfilter attach writes one intent for every endpoint's wiring and sends
    /// each endpoint's requests together, so a kill can leave kernel changes the journal never confirmed.
    /// Recovery must still restore exactly, going by the kernel's evidence, and never touch
    /// an object another tool added after the kill (docs/attach-journal.md).
    @Suite(.serialized) struct IntentRecoveryTests {
        static func attachArguments(_ f: PodFixture, _ state: StateDirectory, sandbox: String) -> [String] {
            [
                "fault-attach", "--netns", f.pod.namespace.path, "--sandbox", sandbox, "--model", "tcfilter", "--vcpus", "1",
                "--state-dir", state.path
            ]
        }

        /// One endpoint: change 1 makes the tap, changes 2-6 are the endpoint's one datagram
        /// (tap up in the group, two qdiscs, two redirects). A kill after any of 2-6 finds the
        /// same journal on disk, byte for byte (no write between them), with every add of the
        /// batch unconfirmed; a kill after 1 finds the tap's intent alone. gc restores the pod
        /// exactly every time.
        @Test(
            .enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"),
            .enabled(if: SandnetBinary.exists, "the sandnet binary is not built (swift build)"),
            .enabled(if: LabBinary.exists, "the sandnet-lab binary is not built (swift build)"))
        func killsInsideTheBatchFindOneIntentAndGcRestoresExactly() throws {
            try PodFixture.withEndpoint { f in
                let before = try f.snapshot()
                let state = StateDirectory()
                let store = JournalStore(directory: state.path)
                var journals: [Int: Data] = [:]
                for n in 1...6 {
                    let r = try LabBinary.run(Self.attachArguments(f, state, sandbox: "intent") + ["--kill-after", "\(n)"])
                    try #require(r.killedBySignal, "the attach finished before change \(n): \(r.stderr)")
                    let data = try Data(contentsOf: URL(fileURLWithPath: store.path(of: "intent")))
                    journals[n] = data
                    let j = try #require(try store.read(sandbox: "intent"))
                    if n == 1 {
                        #expect(j.steps == [.createLink(name: "sn1t0", kind: "tun")], "\(j.steps)")
                    } else {
                        let unconfirmed = j.steps.filter {
                            switch $0 {
                            case .addIngressQdisc(_, _, let added): return added == nil
                            case .addRedirect(_, _, _, _, _, let handle): return handle == nil
                            default: return false
                            }
                        }
                        #expect(unconfirmed.count == 4, "after change \(n) the batch's adds must be intents only: \(j.steps)")
                        if case .createLink(_, _, let ifindex) = j.steps.first { #expect(ifindex != nil) }
                    }
                    let gc = try SandnetBinary.run(["gc", "--state-dir", state.path, "--json"])
                    #expect(gc.status == 0, "gc after a kill at change \(n): \(gc.stderr)")
                    let after = try f.snapshot()
                    #expect(after == before, "killed after change \(n): \(firstDifference(before, after))")
                    #expect(try store.read(sandbox: "intent") == nil)
                }
                // The tap's ifindex differs run to run; the rest must be the same intent every time.
                func intentOnly(_ d: Data?) throws -> [JournalStep] {
                    var j = try JSONDecoder().decode(SandboxJournal.self, from: try #require(d))
                    j.steps = j.steps.map { s in
                        switch s {
                        case .createLink(let n, let k, _): return .createLink(name: n, kind: k)
                        case .addRedirect(let f, let t, _, _, let p, let h): return .addRedirect(from: f, to: t, priority: p, handle: h)
                        case .addIngressQdisc(let l, _, let a): return .addIngressQdisc(link: l, added: a)
                        default: return s
                        }
                    }
                    return j.steps
                }
                for n in 3...6 { #expect(try intentOnly(journals[n]) == intentOnly(journals[2]), "kill after \(n) vs 2") }
            }
        }

        /// Killed after the batch; then another tool adds a filter of its own to the ingress
        /// qdisc sandnet made on eth0. Detach removes sandnet's redirect and tap, but leaves
        /// the qdisc (deleting it would take the other tool's filter along), names it, fails
        /// and keeps the journal.
        @Test(
            .enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"),
            .enabled(if: LabBinary.exists, "the sandnet-lab binary is not built (swift build)"))
        func aForeignFilterAddedAfterAKillKeepsTheQdiscItHangsOn() throws {
            try PodFixture.withEndpoint { f in
                let state = StateDirectory()
                let store = JournalStore(directory: state.path)
                let r = try LabBinary.run(Self.attachArguments(f, state, sandbox: "ff") + ["--kill-after", "6"])
                try #require(r.killedBySignal, "\(r.stderr)")
                try f.pod.tc(
                    "filter", "add", "dev", "eth0", "parent", "ffff:", "protocol", "ip", "pref", "7", "u32",
                    "match", "ip", "dst", "203.0.113.7/32", "flowid", "1:7")
                #expect {
                    _ = try SandboxDetach.detach(sandbox: "ff", store: store)
                } throws: { e in
                    "\(e)".contains("left qdisc ingress dev eth0") && "\(e)".contains("u32 pref 7")
                }
                let filters = try f.pod.tcJSON("filter", "show", "dev", "eth0", "ingress")
                #expect(filters.contains { $0["pref"] as? Int == 7 }, "the other tool's filter must stay: \(filters)")
                #expect(!"\(filters)".contains("mirred"), "sandnet's redirect must go: \(filters)")
                #expect(try f.pod.ipJSON("link", "show").allSatisfy { ($0["ifname"] as? String)?.hasPrefix("sn") != true })
                #expect(try store.read(sandbox: "ff") != nil, "a detach that left something keeps the journal")
            }
        }

        /// The journal a kill leaves between the endpoint's intent write and its datagram: the
        /// tap exists (group 0: its group is set in the datagram), nothing else. Another tool
        /// then adds an ingress qdisc on eth0, empty, or with a filter that redirects
        /// somewhere else. None of it proves sandnet's: detach deletes the tap, leaves the
        /// qdisc and its filters exactly as they were, and says so.
        @Test(
            .enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"),
            arguments: ["empty", "redirect elsewhere"])
        func aForeignQdiscOnAnIntentNeverSentIsNeverTouched(_ foreign: String) throws {
            try PodFixture.withEndpoint { f in
                let group = SandboxLinkGroup.base + 1
                try f.pod.ip("tuntap", "add", "dev", "sn1t0", "mode", "tap", "vnet_hdr")
                try f.pod.ip("link", "add", "other0", "type", "veth", "peer", "name", "other1")
                try f.pod.tc("qdisc", "add", "dev", "eth0", "ingress")
                if foreign != "empty" {
                    try f.pod.tc(
                        "filter", "add", "dev", "eth0", "parent", "ffff:", "protocol", "all", "pref", "1", "u32", "match", "u32",
                        "0", "0", "action", "mirred", "egress", "redirect", "dev", "other0")
                }
                let qdiscsBefore = try f.pod.tcJSON("qdisc", "show", "dev", "eth0")
                let filtersBefore = try f.pod.tcJSON("filter", "show", "dev", "eth0", "ingress")
                func index(_ name: String) throws -> Int32 {
                    Int32(try #require(try f.pod.ipJSON("link", "show", name).first?["ifindex"] as? Int))
                }
                let eth0 = try index("eth0")
                let tap = try index("sn1t0")
                let state = StateDirectory()
                let store = JournalStore(directory: state.path)
                var j = SandboxJournal(
                    sandbox: "nt", namespacePath: f.pod.namespace.path, identity: try f.pod.namespace.identity(), linkGroup: group)
                j.steps = [
                    .createLink(name: "sn1t0", kind: "tun", ifindex: tap),
                    .addIngressQdisc(link: "eth0", ifindex: eth0),
                    .addRedirect(from: "eth0", to: "sn1t0", fromIndex: eth0, toIndex: tap, priority: 1),
                    .addIngressQdisc(link: "sn1t0", ifindex: tap),
                    .addRedirect(from: "sn1t0", to: "eth0", fromIndex: tap, toIndex: eth0, priority: 1)
                ]
                try store.write(j)
                #expect {
                    _ = try SandboxDetach.detach(sandbox: "nt", store: store)
                } throws: { e in
                    "\(e)".contains("left qdisc ingress dev eth0") && "\(e)".contains("recording")
                }
                #expect(NSArray(array: try f.pod.tcJSON("qdisc", "show", "dev", "eth0")).isEqual(to: qdiscsBefore))
                #expect(NSArray(array: try f.pod.tcJSON("filter", "show", "dev", "eth0", "ingress")).isEqual(to: filtersBefore))
                #expect(try f.pod.ipJSON("link", "show").allSatisfy { $0["ifname"] as? String != "sn1t0" }, "sandnet's tap must go")
            }
        }

        /// One intent for every endpoint: with two endpoints, the write after the taps holds
        /// both endpoints' wiring, and nothing is written between their datagrams. A kill in
        /// the first endpoint's datagram and one in the second's find the same steps on disk,
        /// every add of both endpoints unconfirmed (the taps' ifindexes confirmed); gc
        /// restores exactly from either, going by the kernel's evidence for the adds made.
        @Test(
            .enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"),
            .enabled(if: SandnetBinary.exists, "the sandnet binary is not built (swift build)"),
            .enabled(if: LabBinary.exists, "the sandnet-lab binary is not built (swift build)"))
        func oneIntentCoversEveryEndpointAndGcRestoresFromAnyDatagram() throws {
            try PodFixture.with { f in
                try f.addEndpoint("eth0", .veth, number: 0)
                try f.addEndpoint("eth1", .veth, number: 1)
                try f.configure("eth0", number: 0)
                try f.configure("eth1", number: 1)
                let before = try f.snapshot()
                let state = StateDirectory()
                let store = JournalStore(directory: state.path)
                var stepsAt: [Int: [JournalStep]] = [:]
                // Changes: 1-2 the two taps, 3-7 eth0's datagram, 8-12 eth1's.
                for n in [3, 8, 12] {
                    let r = try LabBinary.run(Self.attachArguments(f, state, sandbox: "two") + ["--kill-after", "\(n)"])
                    try #require(r.killedBySignal, "the attach finished before change \(n): \(r.stderr)")
                    let j = try #require(try store.read(sandbox: "two"))
                    let unconfirmed = j.steps.filter {
                        switch $0 {
                        case .addIngressQdisc(_, _, let added): return added == nil
                        case .addRedirect(_, _, _, _, _, let handle): return handle == nil
                        default: return false
                        }
                    }
                    #expect(unconfirmed.count == 8, "after change \(n) both endpoints' adds must be intents only: \(j.steps)")
                    #expect(j.steps.prefix(2).allSatisfy { if case .createLink(_, _, let i) = $0 { i != nil } else { false } })
                    // The taps' ifindexes differ run to run; the rest is the same intent every time.
                    stepsAt[n] = j.steps.map { s in
                        switch s {
                        case .createLink(let n, let k, _): return .createLink(name: n, kind: k)
                        case .addRedirect(let f, let t, _, _, let p, let h): return .addRedirect(from: f, to: t, priority: p, handle: h)
                        case .addIngressQdisc(let l, _, let a): return .addIngressQdisc(link: l, added: a)
                        default: return s
                        }
                    }
                    let gc = try SandnetBinary.run(["gc", "--state-dir", state.path, "--json"])
                    #expect(gc.status == 0, "gc after a kill at change \(n): \(gc.stderr)")
                    let after = try f.snapshot()
                    #expect(after == before, "killed after change \(n): \(firstDifference(before, after))")
                    #expect(try store.read(sandbox: "two") == nil)
                }
                #expect(stepsAt[8] == stepsAt[3] && stepsAt[12] == stepsAt[3], "no write between the datagrams: \(stepsAt)")
            }
        }
    }
}
