import Foundation
import SandboxNetwork
import SandnetCore
import Synchronization
import TestSupport
import Testing

/// Issue 11, point 8: everything knowable before touching the kernel is checked first, so
/// a refused attach leaves the namespace exactly as it was and no journal behind.
extension SandboxIntegration {
    @Suite(.serialized) struct ValidateFirstTests {
        /// The journals left in a state directory.
        static func journals(_ state: StateDirectory) -> [String] { JournalStore(directory: state.path).sandboxes() }

        /// 17 endpoints need 17 NICs; a VM has 16 root ports. Seen: 2,000 endpoints made 12,000
        /// changes for 92 s before failing, labelled "open macvtap queues".
        @Test(
            .enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"),
            .enabled(if: SandnetBinary.exists, "the sandnet binary is not built (swift build)"))
        func moreEndpointsThanRootPortsAreRefusedBeforeAnyChange() throws {
            try PodFixture.with { f in
                for i in 0..<17 { try f.addEndpoint("eth\(i)", .veth, number: i) }
                let before = try f.snapshot()
                let state = StateDirectory()
                let changes = Mutex(0)
                #expect {
                    _ = try SandboxAttach.attach(
                        AttachSettings(sandbox: "nic", namespace: f.pod.namespace.path, model: .tcfilter),
                        store: JournalStore(directory: state.path),
                        afterKernelChange: { n in changes.withLock { $0 = n } })
                } throws: { error in
                    let s = "\(error)"
                    return s.contains("17 endpoints that each need a NIC") && s.contains("at most 16") && s.contains("nothing was changed")
                }
                #expect(changes.withLock { $0 } == 0, "kernel changes were made before the refusal")
                #expect(Self.journals(state).isEmpty)
                // The CLI says the same, and one endpoint set to none fits.
                let r = try SandnetBinary.run(["attach", "--netns", f.pod.namespace.path, "--sandbox", "nic", "--state-dir", state.path])
                #expect(r.status == 1)
                #expect(r.stderr.contains("17 endpoints that each need a NIC"), "\(r.stderr)")
                #expect(!r.stderr.contains("open macvtap queues"), "\(r.stderr)")
                let after = try f.snapshot()
                #expect(after == before, "\(firstDifference(before, after))")
                #expect(Self.journals(state).isEmpty)
                let ok = try SandnetBinary.run([
                    "attach", "--netns", f.pod.namespace.path, "--sandbox", "nic", "--state-dir", state.path,
                    "--endpoint-model", "eth16=none"
                ])
                #expect(ok.status == 0, "\(ok.stderr)")
                _ = try SandnetBinary.run(["detach", "--sandbox", "nic", "--state-dir", state.path, "--force"])
                #expect(try f.snapshot() == before)
            }
        }

        /// `--endpoint-model NAME=MODEL` for a NAME that is not an endpoint: silently ignored before.
        @Test(
            .enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"),
            .enabled(if: SandnetBinary.exists, "the sandnet binary is not built (swift build)"),
            arguments: [("eth9=macvtap", "no link eth9"), ("lo=none", "lo is not an endpoint")])
        func endpointModelForAnUnknownNameIsRefused(_ override: String, _ expected: String) throws {
            try PodFixture.withEndpoint { f in
                let before = try f.snapshot()
                let state = StateDirectory()
                let r = try SandnetBinary.run([
                    "attach", "--netns", f.pod.namespace.path, "--sandbox", "em", "--state-dir", state.path,
                    "--endpoint-model", override
                ])
                #expect(r.status == 1)
                #expect(r.stderr.contains("--endpoint-model \(override)") && r.stderr.contains(expected), "\(r.stderr)")
                #expect(r.stderr.contains("nothing was changed"), "\(r.stderr)")
                let after = try f.snapshot()
                #expect(after == before, "\(firstDifference(before, after))")
                #expect(Self.journals(state).isEmpty)
            }
        }

        /// A guest-description path that cannot be written: it was written after the commit,
        /// so a bad one left the sandbox attached with exit status 1.
        @Test(
            .enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"),
            .enabled(if: SandnetBinary.exists, "the sandnet binary is not built (swift build)"),
            arguments: [
                ("/nonexistent-sandnet-dir/guest.json", "directory /nonexistent-sandnet-dir does not exist"),
                ("/etc/passwd/guest.json", "/etc/passwd is not a directory"),
                (NSTemporaryDirectory(), "is a directory")
            ])
        func unwritableGuestDescriptionIsRefusedBeforeAnyChange(_ path: String, _ expected: String) throws {
            try PodFixture.withEndpoint { f in
                let before = try f.snapshot()
                let state = StateDirectory()
                let r = try SandnetBinary.run([
                    "attach", "--netns", f.pod.namespace.path, "--sandbox", "gd", "--state-dir", state.path,
                    "--guest-description", path
                ])
                #expect(r.status == 1)
                #expect(r.stderr.contains("--guest-description") && r.stderr.contains(expected), "\(r.stderr)")
                #expect(r.stderr.contains("nothing was changed"), "\(r.stderr)")
                let after = try f.snapshot()
                #expect(after == before, "\(firstDifference(before, after))")
                #expect(Self.journals(state).isEmpty)
            }
        }

        /// The `--exec` program is resolved first: a missing one left the sandbox attached.
        @Test(
            .enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"),
            .enabled(if: SandnetBinary.exists, "the sandnet binary is not built (swift build)"),
            arguments: [
                ("/nonexistent-sandnet-dir/qemu-system-x86_64", "does not exist"),
                ("sandnet-no-such-qemu", "is not in PATH"),
                ("/etc/passwd", "is not executable")
            ])
        func missingExecProgramIsRefusedBeforeAnyChange(_ program: String, _ expected: String) throws {
            try PodFixture.with { f in
                try f.addEndpoint("eth0", .veth, number: 0)
                let before = try f.snapshot()
                let state = StateDirectory()
                let r = try SandnetBinary.run([
                    "attach", "--netns", f.pod.namespace.path, "--sandbox", "ex", "--state-dir", state.path,
                    "--exec", "--", program, "-m", "512"
                ])
                #expect(r.status == 1)
                #expect(r.stderr.contains("--exec") && r.stderr.contains(program) && r.stderr.contains(expected), "\(r.stderr)")
                #expect(r.stderr.contains("nothing was changed"), "\(r.stderr)")
                let after = try f.snapshot()
                #expect(after == before, "\(firstDifference(before, after))")
                #expect(Self.journals(state).isEmpty)
            }
        }
    }
}
