import Foundation
import NetlinkSocket
import SandboxNetwork
import SandnetCore
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Issue 11 point 1: root never acts on a state directory, journal, temporary file or lock
/// file that someone else could have planted or redirected.
extension SandboxIntegration {
    @Suite(.serialized) struct StateTrustTests {
        /// A copy of a live sandbox's journal under another id, with an owner that is gone: what
        /// an attacker plants so that root's gc undoes (deletes) the live sandbox's links.
        static func plantedJournal(from store: JournalStore, sandbox: String, as id: String) throws -> Data {
            var j = try #require(try store.read(sandbox: sandbox))
            j.sandbox = id
            j.ownerPID = Int32.max // no such process: gc takes the owner for dead
            j.ownerStartTime = 1
            return try JournalStore.encode(j)
        }

        @Test(
            .enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces and chowns files"),
            .enabled(if: SandnetBinary.exists, "the sandnet binary is not built (swift build)"))
        func aStateDirectoryMadeByNobodyWithAPlantedJournalIsRefusedAndNothingIsTouched() throws {
            try PodFixture.withEndpoint { f in
                let trusted = StateDirectory()
                let store = JournalStore(directory: trusted.path)
                _ = try SandboxAttach.attach(
                    AttachSettings(sandbox: "victim", namespace: f.pod.namespace.path, model: .tcfilter), store: store)
                defer { _ = try? SandboxDetach.detach(sandbox: "victim", store: store) }
                let attached = try f.snapshot()

                // User nobody's world-writable directory, with a journal nobody wrote.
                let planted = StateDirectory()
                try StateFiles.makeDirectory(planted.path, mode: 0o777, uid: StateFiles.nobody)
                try StateFiles.makeDirectory(planted.path + "/sandboxes", mode: 0o777, uid: StateFiles.nobody)
                let journal = planted.path + "/sandboxes/evil.json"
                let data = try Self.plantedJournal(from: store, sandbox: "victim", as: "evil")
                try StateFiles.write(data, to: journal, uid: StateFiles.nobody)

                for (args, env) in [
                    (["gc", "--state-dir", planted.path], [String: String]()),
                    (["gc"], ["SANDNET_STATE_DIR": planted.path]),
                    (["detach", "--sandbox", "evil", "--state-dir", planted.path], [:])
                ] {
                    let r = try SandnetBinary.run(args, environment: env)
                    #expect(r.status != 0, "\(args) \(env) accepted a directory owned by nobody: \(r.stdout)")
                    #expect(r.stderr.contains(planted.path) && r.stderr.contains("owned by uid 65534"), "\(r.stderr)")
                    let now = try f.snapshot()
                    #expect(now == attached, "\(args) \(env) changed the pod: \(firstDifference(attached, now))")
                    #expect(try Data(contentsOf: URL(fileURLWithPath: journal)) == data)
                }
                // A symlink for the state directory is refused even when it points at a trusted one.
                let link = StateFiles.freshPath("sandnet-state-link")
                #expect(symlink(trusted.path, link) == 0)
                defer { unlink(link) }
                let r = try SandnetBinary.run(["gc", "--state-dir", link])
                #expect(r.status != 0 && r.stderr.contains("symbolic link"), "\(r.status) \(r.stderr)")
            }
        }

        @Test(
            .enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces and chowns files"),
            .enabled(if: SandnetBinary.exists, "the sandnet binary is not built (swift build)"))
        func aJournalThatIsNotARootOwned0600RegularFileIsRefusedWithItsPathAndWhy() throws {
            try PodFixture.withEndpoint { f in
                let state = StateDirectory()
                let store = JournalStore(directory: state.path)
                _ = try SandboxAttach.attach(
                    AttachSettings(sandbox: "victim", namespace: f.pod.namespace.path, model: .tcfilter), store: store)
                defer { _ = try? SandboxDetach.detach(sandbox: "victim", store: store) }
                let attached = try f.snapshot()
                let data = try Self.plantedJournal(from: store, sandbox: "victim", as: "evil")
                let journal = state.path + "/sandboxes/evil.json"
                let elsewhere = StateFiles.freshPath("sandnet-evil-journal")
                defer { unlink(elsewhere) }
                try StateFiles.write(data, to: elsewhere)
                let cases: [(String, () throws -> Void)] = [
                    ("owned by uid 65534", { try StateFiles.write(data, to: journal, uid: StateFiles.nobody) }),
                    ("mode 0644", { try StateFiles.write(data, to: journal, mode: 0o644) }),
                    (
                        "symbolic link",
                        {
                            unlink(journal)
                            #expect(symlink(elsewhere, journal) == 0)
                        }
                    )
                ]
                for (why, plant) in cases {
                    try plant()
                    let r = try SandnetBinary.run(["gc", "--state-dir", state.path])
                    #expect(r.status != 0, "gc accepted a journal that is \(why)")
                    #expect(r.stderr.contains(journal) && r.stderr.contains(why), "\(why): \(r.stderr)")
                    let now = try f.snapshot()
                    #expect(now == attached, "a journal that is \(why) changed the pod: \(firstDifference(attached, now))")
                    unlink(journal)
                }
            }
        }

        @Test(.enabled(if: TestEnvironment.isRoot, "needs root: writes a root-only file"))
        func aPlantedTemporaryJournalSymlinkDoesNotRedirectTheWrite() throws {
            let state = StateDirectory()
            try StateFiles.makeDirectory(state.path)
            try StateFiles.makeDirectory(state.path + "/sandboxes")
            let store = JournalStore(directory: state.path)
            let secret = StateFiles.freshPath("sandnet-root-only")
            defer { unlink(secret) }
            let content = Data("root only\n".utf8)
            try StateFiles.write(content, to: secret)
            // The name the writer used to pick: ID.json.tmp.PID (this process writes here).
            let planted = state.path + "/sandboxes/x.json.tmp.\(getpid())"
            #expect(symlink(secret, planted) == 0)
            let journal = SandboxJournal(
                sandbox: "x", namespacePath: "/run/netns/none", identity: NamespaceIdentity(device: 1, inode: 2),
                linkGroup: 7)
            try store.write(journal)
            #expect(try Data(contentsOf: URL(fileURLWithPath: secret)) == content, "the write went through the planted symlink")
            #expect(try store.read(sandbox: "x") == journal)
            var st = stat()
            #expect(lstat(state.path + "/sandboxes/x.json", &st) == 0 && st.st_mode & S_IFMT == S_IFREG && st.st_mode & 0o7777 == 0o600)
        }

        @Test(
            .enabled(if: TestEnvironment.isRoot, "needs root: the point is what root creates"),
            .enabled(if: SandnetBinary.exists, "the sandnet binary is not built (swift build)"))
        func aDanglingLockFileSymlinkDoesNotMakeRootCreateAFile() throws {
            let state = StateDirectory()
            try StateFiles.makeDirectory(state.path)
            try StateFiles.makeDirectory(state.path + "/sandboxes")
            let target = StateFiles.freshPath("sandnet-lock-target")
            defer { unlink(target) }
            #expect(symlink(target, state.path + "/sandbox-x.lock") == 0)
            let r = try SandnetBinary.run(["detach", "--sandbox", "x", "--state-dir", state.path])
            #expect(r.status != 0)
            #expect(!FileManager.default.fileExists(atPath: target), "root created \(target) through the lock symlink")
            #expect(r.stderr.contains("sandbox-x.lock") && r.stderr.contains("symbolic link"), "\(r.stderr)")
        }
    }
}
