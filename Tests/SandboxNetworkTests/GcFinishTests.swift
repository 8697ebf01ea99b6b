import Foundation
import ProcessRunner
import SandboxNetwork
import SandnetCore
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Issue 11 point 7: gc finishes what a killed detach left, says when it cannot read the
/// state, gives up on a busy sandbox within a bound naming who holds it, and leaves no
/// file behind but live sandboxes'.
extension SandboxIntegration {
    @Suite(.serialized) struct GcFinishTests {
        @Test(
            .enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"),
            .enabled(if: SandnetBinary.exists, "the sandnet binary is not built (swift build)"))
        func gcFinishesADetachThatWasInterrupted() throws {
            try PodFixture.withEndpoint { f in
                let before = try f.snapshot()
                let state = StateDirectory()
                let store = JournalStore(directory: state.path)
                // Attached without an owner process (no --exec), then a detach killed after it
                // marked the journal `detaching`.
                _ = try SandboxAttach.attach(
                    AttachSettings(sandbox: "half", namespace: f.pod.namespace.path, model: .tcfilter), store: store)
                var j = try #require(try store.read(sandbox: "half"))
                j.state = .detaching
                try store.write(j)
                let gc = try SandnetBinary.run(["gc", "--state-dir", state.path])
                #expect(gc.status == 0, "\(gc.stderr)")
                #expect(try store.read(sandbox: "half") == nil, "gc skipped the interrupted detach: \(gc.stdout)")
                let after = try f.snapshot()
                #expect(after == before, "\(firstDifference(before, after))")
            }
        }

        @Test(.enabled(if: SandnetBinary.exists, "the sandnet binary is not built (swift build)"))
        func gcReportsAndFailsWhenItCannotReadTheState() throws {
            let state = StateDirectory()
            try StateFiles.makeDirectory(state.path)
            // `sandboxes` is a file: the journals cannot be listed.
            try StateFiles.write(Data("x".utf8), to: state.path + "/sandboxes")
            let r = try SandnetBinary.run(["gc", "--state-dir", state.path])
            #expect(r.status != 0, "gc said: \(r.stdout)")
            #expect(r.stderr.contains(state.path + "/sandboxes"), "\(r.stderr)")
            // A journal that cannot be decoded is reported the same way.
            unlink(state.path + "/sandboxes")
            try StateFiles.makeDirectory(state.path + "/sandboxes")
            try StateFiles.write(Data("{\"format\": 1".utf8), to: state.path + "/sandboxes/bad.json")
            let bad = try SandnetBinary.run(["gc", "--state-dir", state.path])
            #expect(bad.status != 0 && bad.stderr.contains(state.path + "/sandboxes/bad.json"), "\(bad.stderr)")
        }

        @Test(
            .enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"),
            .enabled(if: SandnetBinary.exists, "the sandnet binary is not built (swift build)"),
            .enabled(if: LabBinary.exists, "the sandnet-lab binary is not built (swift build)"))
        func gcGivesUpOnASandboxHeldByAStuckAttachWithinABoundAndNamesTheHolder() throws {
            try PodFixture.withEndpoint { f in
                let before = try f.snapshot()
                let state = StateDirectory()
                let stuck = try ProcessRunner.spawn([
                    LabBinary.path, "fault-attach", "--netns", f.pod.namespace.path, "--sandbox", "stuck",
                    "--model", "tcfilter", "--state-dir", state.path, "--stop-after", "1"
                ])
                defer { stuck.kill() }
                try Self.waitUntilStopped(stuck)
                let start = ContinuousClock.now
                let gc = try SandnetBinary.run(["gc", "--state-dir", state.path, "--lock-timeout", "2"], timeout: .seconds(30))
                let took = ContinuousClock.now - start
                #expect(took < .seconds(10), "gc took \(took)")
                #expect(gc.status != 0)
                #expect(gc.stderr.contains("sandbox stuck") && gc.stderr.contains("process \(stuck.pid)"), "\(gc.stderr)")
                stuck.kill()
                let clean = try SandnetBinary.run(["gc", "--state-dir", state.path], timeout: .seconds(30))
                #expect(clean.status == 0, "\(clean.stderr)")
                let after = try f.snapshot()
                #expect(after == before, "\(firstDifference(before, after))")
            }
        }

        /// Waits (bounded) until `p` is stopped (state T in /proc/PID/stat).
        static func waitUntilStopped(_ p: RunningProcess) throws {
            let deadline = ContinuousClock.now + .seconds(60)
            while ContinuousClock.now < deadline {
                let stat = (try? String(contentsOfFile: "/proc/\(p.pid)/stat", encoding: .utf8)) ?? ""
                if stat.split(separator: ")").last?.split(separator: " ").first == "T" { return }
                guard p.isRunning else { throw TestFailure("\(p.argv) ended instead of stopping: \(String(describing: p.termination))") }
                usleep(20_000)
            }
            throw TestFailure("\(p.argv) did not stop within 60 s")
        }

        @Test(
            .enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces and device nodes"),
            .enabled(if: SandnetBinary.exists, "the sandnet binary is not built (swift build)"))
        func gcSweepsOrphanedTemporaryJournalsLockFilesAndDeviceNodes() throws {
            try PodFixture.withEndpoint { f in
                let state = StateDirectory()
                let store = JournalStore(directory: state.path)
                _ = try SandboxAttach.attach(
                    AttachSettings(sandbox: "live", namespace: f.pod.namespace.path, model: .tcfilter), store: store)
                defer { _ = try? SandboxDetach.detach(sandbox: "live", store: store) }
                // What killed writers and finished sandboxes left behind.
                for name in [
                    "sandboxes/gone.json.tmp.4242", "sandboxes/live.json.tmp.77", "sandboxes/gone.json.tmp.9f8e7d6c5b4a3921",
                    "sandbox-gone.lock", "netns-1-2.lock"
                ] {
                    try StateFiles.write(Data(), to: "\(state.path)/\(name)")
                }
                try StateFiles.makeDirectory(state.path + "/dev")
                try TestEnvironment.sh("mknod", "-m", "600", state.path + "/dev/tap77-1-3", "c", "1", "3")
                let gc = try SandnetBinary.run(["gc", "--state-dir", state.path])
                #expect(gc.status == 0, "\(gc.stderr)")
                #expect(StateFiles.files(under: state.path) == ["sandbox-live.lock", "sandboxes/live.json"], "\(gc.stdout)")
                _ = try SandboxDetach.detach(sandbox: "live", store: store)
                let last = try SandnetBinary.run(["gc", "--state-dir", state.path])
                #expect(last.status == 0, "\(last.stderr)")
                #expect(StateFiles.files(under: state.path) == [])
            }
        }

        /// A macvtap whose /dev/tapN is another namespace's gets its queues through a node
        /// sandnet makes in the state directory: journaled before it is made, gone once the
        /// queues are open, and never left behind.
        @Test(
            .enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces and device nodes"),
            .enabled(if: SandnetBinary.exists, "the sandnet binary is not built (swift build)"))
        func theDeviceNodeMadeForATapClashIsJournaledAndRemoved() throws {
            try PodFixture.with { f in
                try f.addEndpoint("eth0", .veth, number: 0)
                try f.configure("eth0", number: 0, ipv6: false)
                let state = StateDirectory()
                let attach = [
                    "attach", "--netns", f.pod.namespace.path, "--sandbox", "clash", "--model", "macvtap", "--state-dir", state.path
                ]
                let detach = ["detach", "--sandbox", "clash", "--state-dir", state.path]
                func macvtapIndex() throws -> Int? {
                    try f.pod.ipJSON("link", "show").first { ($0["ifname"] as? String)?.hasPrefix("sn") == true }?["ifindex"] as? Int
                }
                // Moves the pod's ifindex counter past the other namespace's links (a veth pair takes two).
                try f.pod.ip("link", "add", "b0", "type", "veth", "peer", "name", "b1")
                try f.pod.ip("link", "del", "b0")
                // The pod's next ifindex is the one after its last (the kernel allocates cyclically):
                // a macvtap in the host namespace at that index owns /dev/tapN first.
                try #require(try SandnetBinary.run(attach).status == 0)
                let first = try #require(try macvtapIndex())
                try #require(try SandnetBinary.run(detach).status == 0)
                let other = try TestNamespace(prefix: "snc")
                defer { other.remove() }
                try other.ip("link", "add", "c0", "type", "veth", "peer", "name", "c1") // ifindex 2 and 3
                try #require(first + 1 > 3, "the pod's macvtap got ifindex \(first); the clash needs one above 3")
                // A few in a row: the kernel may skip an index or two between the attaches.
                let clashing = (first + 1)...(first + 4)
                for i in clashing { try other.ip("link", "add", "link", "c0", "name", "clash\(i)", "index", "\(i)", "type", "macvtap") }
                let a = try SandnetBinary.run(attach)
                try #require(a.status == 0, "\(a.stderr)")
                let second = try #require(try macvtapIndex())
                try #require(
                    clashing.contains(second),
                    "the kernel gave the pod's macvtap ifindex \(second), not one of \(clashing): no clash to test")
                // /dev/tapN is clash<N>'s, made first: the queues must have come through a private node.
                #expect(FileManager.default.fileExists(atPath: "/dev/tap\(second)"))
                let journal = try #require(try JournalStore(directory: state.path).read(sandbox: "clash"))
                #expect(
                    journal.deviceNodes?.contains { $0.hasPrefix("tap\(second)-") } == true, "\(String(describing: journal.deviceNodes))")
                #expect(StateFiles.files(under: state.path + "/dev") == [], "the node outlives the opening of the queues")
                let d = try SandnetBinary.run(detach)
                #expect(d.status == 0, "\(d.stderr)")
                let gc = try SandnetBinary.run(["gc", "--state-dir", state.path])
                #expect(gc.status == 0, "\(gc.stderr)")
                #expect(StateFiles.files(under: state.path) == [])
            }
        }
    }
}
