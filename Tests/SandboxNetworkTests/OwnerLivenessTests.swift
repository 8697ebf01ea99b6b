import Foundation
import SandboxNetwork
import SandnetCore
import TestSupport
import Testing

extension SandboxIntegration {
    /// Issue 11.6: a sandbox is alive while any process holds its queues, not only while the
    /// pid that attach recorded runs. Seen: `qemu -daemonize` forks and its parent exits, and
    /// `gc` undid the running VM's sandbox.
    @Suite(.serialized) struct OwnerLivenessTests {
        /// The exec'd "QEMU" forks a child that keeps the queue descriptors and exits at once,
        /// as `-daemonize` does: gc keeps the sandbox while the child lives, undoes it after.
        @Test(
            .enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"),
            .enabled(if: SandnetBinary.exists, "the sandnet binary is not built (swift build)"),
            arguments: [NetworkModel.tcfilter, .macvtap])
        func gcKeepsASandboxWhileAForkedChildHoldsItsQueues(_ model: NetworkModel) throws {
            try PodFixture.withEndpoint { f in
                let before = try f.snapshot()
                let state = StateDirectory()
                // Background jobs of sh inherit every descriptor sh has; only stdio is redirected
                // so that the runner sees end of output when sh exits.
                let a = try SandnetBinary.run([
                    "attach", "--netns", f.pod.name, "--sandbox", "daemon", "--model", model.rawValue,
                    "--vcpus", "2", "--state-dir", state.path, "--exec", "--",
                    "/bin/sh", "-c", "sleep 120 </dev/null >/dev/null 2>&1 & echo $!"
                ])
                try #require(a.status == 0, "\(a.stderr)")
                let child = try #require(Int32(a.stdout.trimmingCharacters(in: .whitespacesAndNewlines)), "child pid in \(a.stdout)")
                defer { kill(child, SIGKILL) }
                let held = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(child)/fd").compactMap {
                    try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(child)/fd/\($0)")
                }
                try #require(held.contains { $0 == "/dev/net/tun" || $0.contains("tap") }, "the child holds the queues: \(held)")
                let journal = "\(state.path)/sandboxes/daemon.json"

                let kept = try SandnetBinary.run(["gc", "--state-dir", state.path, "--log-level", "notice"])
                #expect(kept.status == 0, "\(kept.stderr)")
                #expect(
                    FileManager.default.fileExists(atPath: journal),
                    "gc undid a sandbox whose queues are held: \(kept.stdout) \(kept.stderr)")
                #expect(try f.snapshot() != before, "the sandbox's devices are still there")
                let d = try SandnetBinary.run(["detach", "--sandbox", "daemon", "--state-dir", state.path])
                #expect(d.status == 1 && d.stderr.contains("process \(child) holds"), "detach refuses without --force: \(d.stderr)")

                kill(child, SIGKILL)
                // Reaped by whoever adopted it; its descriptors close when it dies either way.
                var dead = false
                for _ in 0..<500 where !dead {
                    let stat = (try? String(contentsOfFile: "/proc/\(child)/stat", encoding: .utf8)) ?? ""
                    dead = stat.isEmpty || stat.split(separator: ")").last?.split(separator: " ").first == "Z"
                    if !dead { usleep(20_000) }
                }
                try #require(dead, "child \(child) did not die within 10 s of SIGKILL")
                let collected = try SandnetBinary.run(["gc", "--state-dir", state.path])
                #expect(collected.status == 0, "\(collected.stderr)")
                #expect(collected.stdout.contains("sandbox daemon: "), "\(collected.stdout)")
                #expect(!FileManager.default.fileExists(atPath: journal))
                let after = try f.snapshot()
                #expect(after == before, "\(firstDifference(before, after))")
            }
        }

        /// Tap names repeat across namespaces (each pod's first sandbox has tap sn1t0): a
        /// process holding another pod's sn1t0 must not keep a dead sandbox alive.
        @Test(
            .enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"),
            .enabled(if: SandnetBinary.exists, "the sandnet binary is not built (swift build)"))
        func aSameNamedTapInAnotherNamespaceDoesNotKeepASandboxAlive() throws {
            try PodFixture.with { held in
                try PodFixture.with { dead in
                    try held.addEndpoint("eth0", .veth, number: 0)
                    try dead.addEndpoint("eth0", .veth, number: 0)
                    let state = StateDirectory()
                    let a = try SandnetBinary.run([
                        "attach", "--netns", held.pod.name, "--sandbox", "held", "--state-dir", state.path, "--exec", "--",
                        "/bin/sh", "-c", "sleep 120 </dev/null >/dev/null 2>&1 & echo $!"
                    ])
                    try #require(a.status == 0, "\(a.stderr)")
                    let child = try #require(Int32(a.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
                    defer { kill(child, SIGKILL) }
                    let b = try SandnetBinary.run([
                        "attach", "--netns", dead.pod.name, "--sandbox", "dead", "--state-dir", state.path, "--exec", "--",
                        "/bin/sh", "-c", "exit 0"
                    ])
                    try #require(b.status == 0, "\(b.stderr)")
                    #expect(
                        try held.pod.ip("link", "show", "sn1t0").contains("sn1t0")
                            && dead.pod.ip("link", "show", "sn1t0").contains("sn1t0"),
                        "both pods have a tap sn1t0")
                    let gc = try SandnetBinary.run(["gc", "--state-dir", state.path])
                    #expect(gc.stdout.contains("sandbox dead: "), "\(gc.stdout) \(gc.stderr)")
                    #expect(FileManager.default.fileExists(atPath: "\(state.path)/sandboxes/held.json"))
                    #expect(!FileManager.default.fileExists(atPath: "\(state.path)/sandboxes/dead.json"))
                    _ = try SandnetBinary.run(["detach", "--sandbox", "held", "--state-dir", state.path, "--force"])
                }
            }
        }
    }
}
