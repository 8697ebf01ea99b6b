import Foundation
import TestSupport
import Testing

/// Issue 11, point 11: errors say what is really wrong, never a stale errno.
extension SandboxIntegration {
    @Suite(.serialized) struct TruthfulErrorTests {
        static let nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        /// Whether user nobody can run the built binary (every directory above it searchable).
        static let nobodyCanRun: Bool = {
            guard TestEnvironment.isRoot, SandnetBinary.exists else { return false }
            return (try? TestEnvironment.run(nobody + [SandnetBinary.path, "--help"]).status) == 0
        }()

        static func asNobody(_ args: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
            try TestEnvironment.run(nobody + [SandnetBinary.path] + args)
        }

        /// A journal path that is a directory: "read failed: EEXIST" before (errno left by mkdir).
        @Test(.enabled(if: SandnetBinary.exists, "the sandnet binary is not built (swift build)"))
        func journalThatIsADirectorySaysSo() throws {
            let state = StateDirectory()
            try FileManager.default.createDirectory(
                atPath: "\(state.path)/sandboxes/jd.json", withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700])
            chmod(state.path, 0o700)
            let r = try SandnetBinary.run(["detach", "--sandbox", "jd", "--state-dir", state.path])
            #expect(r.status == 1)
            #expect(r.stderr.contains("\(state.path)/sandboxes/jd.json is a directory, not a journal file"), "\(r.stderr)")
            #expect(!r.stderr.contains("EEXIST"), "\(r.stderr)")
        }

        /// `--netns /etc/passwd`: a file that is no namespace at all.
        @Test(
            .enabled(if: TestEnvironment.isRoot, "needs root: opens namespaces"),
            .enabled(if: SandnetBinary.exists, "the sandnet binary is not built (swift build)"),
            arguments: [["scan"], ["link"], ["attach", "--sandbox", "pw"]])
        func aFileThatIsNoNamespaceSaysNotANetworkNamespace(_ command: [String]) throws {
            let state = StateDirectory()
            let extra = command[0] == "attach" ? ["--state-dir", state.path] : []
            let r = try SandnetBinary.run(command + ["--netns", "/etc/passwd"] + extra)
            #expect(r.status == 1)
            #expect(r.stderr.contains("/etc/passwd is not a network namespace"), "\(r.stderr)")
            #expect(!r.stderr.contains("EINVAL"), "\(r.stderr)")
            // A namespace file of another kind is no network namespace either.
            let mnt = try SandnetBinary.run(command + ["--netns", "/proc/self/ns/mnt"] + extra)
            #expect(mnt.stderr.contains("/proc/self/ns/mnt is not a network namespace (it is a mount namespace)"), "\(mnt.stderr)")
        }

        /// A namespace path this user may not reach: "does not exist. Fix: check the name" before.
        @Test(.enabled(if: nobodyCanRun, "needs root and a sandnet binary user nobody can run (setpriv)"))
        func permissionDeniedSaysPermission() throws {
            let dir = NSTemporaryDirectory() + "sandnet-private-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
            defer { try? FileManager.default.removeItem(atPath: dir) }
            #expect(FileManager.default.createFile(atPath: "\(dir)/ns", contents: nil))
            let r = try Self.asNobody(["scan", "--netns", "\(dir)/ns"])
            #expect(r.status == 1)
            #expect(r.stderr.contains("permission denied"), "\(r.stderr)")
            #expect(!r.stderr.contains("does not exist"), "\(r.stderr)")
        }

        /// An unprivileged attach is told it needs CAP_NET_ADMIN, not that /run/sandnet is EACCES.
        @Test(.enabled(if: nobodyCanRun, "needs root and a sandnet binary user nobody can run (setpriv)"))
        func unprivilegedAttachNamesTheCapability() throws {
            try TestNamespace.with(prefix: "snu") { ns in
                let r = try Self.asNobody(["attach", "--netns", ns.namespace.path, "--sandbox", "up"])
                #expect(r.status == 1)
                #expect(r.stderr.contains("CAP_NET_ADMIN") && r.stderr.contains("run it as root"), "\(r.stderr)")
                #expect(!r.stderr.contains("state directory") && !r.stderr.contains("EACCES"), "\(r.stderr)")
            }
        }
    }
}
