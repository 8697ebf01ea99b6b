import Foundation
import SandboxNetwork
import SandnetCore
import TestSupport
import Testing

extension SandboxIntegration {
    /// The attach process (`sandnet-lab fault-attach`, the product's attach with a kernel-change
    /// hook) is SIGKILLed right after its 1st, 2nd, ... kernel change; the product's `sandnet gc`
    /// must then return the pod to its starting state every time.
    @Suite(.serialized) struct FaultInjectionTests {
        @Test(
            .enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"),
            .enabled(if: SandnetBinary.exists, "the sandnet binary is not built (swift build)"),
            .enabled(if: LabBinary.exists, "the sandnet-lab binary is not built (swift build)"),
            arguments: [NetworkModel.tcfilter, .macvtap])
        func gcUndoesAnAttachKilledAfterEveryKernelChange(_ model: NetworkModel) throws {
            // tcfilter: 2 per tap + 4 per endpoint's filters; macvtap: addresses, routes, MAC, macvtap.
            try killAfterEveryChange(model, extra: [], minimum: 8)
        }

        /// The same with rate limits both ways and 3 queues: htb qdiscs and classes, and the
        /// ifbs of macvtap and none, each killed after and undone by gc.
        @Test(
            .enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"),
            .enabled(if: SandnetBinary.exists, "the sandnet binary is not built (swift build)"),
            .enabled(if: LabBinary.exists, "the sandnet-lab binary is not built (swift build)"),
            .enabled(if: IfbProbe.unavailableReason == nil, "\(IfbProbe.unavailableReason ?? "")"),
            arguments: NetworkModel.allCases)
        func gcUndoesARateLimitedAttachKilledAfterEveryKernelChange(_ model: NetworkModel) throws {
            // Two endpoints, each with two htb qdiscs and classes (and for macvtap/none an ifb, ingress and redirect).
            try killAfterEveryChange(model, extra: ["--queues", "3", "--rx-rate", "30mbit", "--tx-rate", "20mbit"], minimum: 8)
        }

        func killAfterEveryChange(_ model: NetworkModel, extra: [String], minimum: Int) throws {
            try PodFixture.with { f in
                try f.addEndpoint("eth0", .veth, number: 0)
                try f.addEndpoint("eth1", .macvlan, number: 1)
                try f.configure("eth0", number: 0)
                try f.configure("eth1", number: 1)
                let before = try f.snapshot()
                let state = StateDirectory()
                let attach =
                    [
                        "fault-attach", "--netns", f.pod.namespace.path, "--sandbox", "fault", "--model", model.rawValue,
                        "--vcpus", "2", "--state-dir", state.path, "--json"
                    ] + extra
                var killedAt: [Int] = []
                for n in 1...80 {
                    let r = try LabBinary.run(attach + ["--kill-after", "\(n)"])
                    if !r.killedBySignal {
                        // Fewer than n changes: the attach completed. Detach it and stop.
                        #expect(r.status == 0, "\(r.stderr)")
                        let d = try SandnetBinary.run(["detach", "--sandbox", "fault", "--state-dir", state.path])
                        #expect(d.status == 0, "\(d.stderr)")
                        let after = try f.snapshot()
                        #expect(after == before, "after a full attach and detach: \(firstDifference(before, after))")
                        break
                    }
                    #expect(r.status == SIGKILL)
                    killedAt.append(n)
                    #expect(
                        FileManager.default.fileExists(atPath: JournalStore(directory: state.path).path(of: "fault")),
                        "a journal must exist after a kill at change \(n)")
                    let gc = try SandnetBinary.run(["gc", "--state-dir", state.path, "--json"])
                    #expect(gc.status == 0, "gc after a kill at change \(n): \(gc.stderr)")
                    #expect(gc.stdout.contains("\"sandbox\" : \"fault\""))
                    let after = try f.snapshot()
                    #expect(after == before, "killed after change \(n): \(firstDifference(before, after))")
                    #expect(!FileManager.default.fileExists(atPath: JournalStore(directory: state.path).path(of: "fault")))
                }
                #expect(killedAt.count >= minimum, "only \(killedAt.count) kernel changes were exercised")
                #expect(killedAt.count < 80, "the attach did not complete within 80 kernel changes")
                print(
                    "fault-attach \(model) \(extra.joined(separator: " ")): killed after each of \(killedAt.count) kernel changes, gc restored the pod every time"
                )
            }
        }

        @Test(
            .enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"),
            .enabled(if: SandnetBinary.exists, "the sandnet binary is not built (swift build)"))
        func aFailedAttachRollsItselfBack() throws {
            try PodFixture.with { f in
                try f.addEndpoint("eth0", .veth, number: 0)
                try f.addEndpoint("eth1", .veth, number: 1)
                try f.configure("eth0", number: 0)
                // eth1 already has an ingress qdisc (someone else's): tcfilter must refuse it
                // after plumbing eth0, and take eth0's plumbing back.
                try f.pod.tc("qdisc", "add", "dev", "eth1", "ingress")
                let before = try f.snapshot()
                let state = StateDirectory()
                let r = try SandnetBinary.run([
                    "attach", "--netns", f.pod.namespace.path, "--sandbox", "rb", "--model", "tcfilter",
                    "--state-dir", state.path
                ])
                #expect(r.status == 1)
                #expect(r.stderr.contains("every change made so far was undone"), "\(r.stderr)")
                #expect(r.stderr.contains("eth1"))
                let after = try f.snapshot()
                #expect(after == before, "\(firstDifference(before, after))")
                #expect(JournalStore(directory: state.path).sandboxes().isEmpty)
            }
        }
    }
}
