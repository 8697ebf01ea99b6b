import Foundation
import NetlinkCodec
import NetlinkSocket
import SandboxNetwork
import SandnetCore
import TestSupport
import Testing

extension SandboxIntegration {
    @Suite(.serialized) struct JournalTests {
        @Test(.enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"))
        func corruptedOrTruncatedJournalGivesAClearErrorAndTouchesNothing() throws {
            try PodFixture.withEndpoint { f in
                let state = StateDirectory()
                let store = JournalStore(directory: state.path)
                _ = try SandboxAttach.attach(AttachSettings(sandbox: "j1", namespace: f.pod.namespace.path, model: .none), store: store)
                let path = store.path(of: "j1")
                let good = try Data(contentsOf: URL(fileURLWithPath: path))
                let before = try f.snapshot()
                for bad in [good.prefix(good.count / 2), Data("{\"format\": 1, \"sandbox\": \"j1\"".utf8), Data(), Data([0xff, 0x00, 0x13])]
                {
                    try bad.write(to: URL(fileURLWithPath: path))
                    do {
                        _ = try SandboxDetach.detach(sandbox: "j1", store: store)
                        Issue.record("detach accepted a corrupted journal")
                    } catch let e as SandboxError {
                        guard case .journalCorrupted = e else {
                            Issue.record("unexpected error \(e)")
                            continue
                        }
                        #expect(e.description.contains(path))
                        #expect(e.description.contains("nothing was changed"))
                    }
                    let gc = SandboxDetach.collectGarbage(store: store)
                    #expect(gc.reports.isEmpty)
                    #expect(gc.errors.count == 1)
                    // The file is left for an operator, byte for byte, and the namespace is untouched.
                    #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == bad)
                    #expect(try f.snapshot() == before)
                }
                try good.write(to: URL(fileURLWithPath: path))
                _ = try SandboxDetach.detach(sandbox: "j1", store: store)
                #expect(!FileManager.default.fileExists(atPath: path))
            }
        }

        @Test func sandboxIDsThatCouldEscapeTheStateDirectoryAreRefused() {
            for bad in ["", "../x", "a/b", ".hidden", String(repeating: "a", count: 200), "sp ace"] {
                #expect(throws: SandboxError.self) { try JournalStore.validate(sandbox: bad) }
            }
            #expect(throws: Never.self) { try JournalStore.validate(sandbox: "pod-1_a.b") }
        }

        /// Attach and the endpoint-ownership check decode only journals that may be of their
        /// namespace: one of another namespace is skipped, one of this namespace always read.
        @Test func journalsOfOtherNamespacesAreNotDecoded() throws {
            let state = StateDirectory()
            let store = JournalStore(directory: state.path)
            let here = NamespaceIdentity(device: 4, inode: 4026532871)
            let elsewhere = NamespaceIdentity(device: 4, inode: 4026532999)
            try store.write(SandboxJournal(sandbox: "mine", namespacePath: "/run/netns/a", identity: here, linkGroup: 0x534e_0001))
            try store.write(
                SandboxJournal(sandbox: "theirs", namespacePath: "/run/netns/b", identity: elsewhere, linkGroup: 0x534e_0001))
            #expect(try store.read(sandbox: "mine", ifOfNamespace: here)?.sandbox == "mine")
            #expect(try store.read(sandbox: "theirs", ifOfNamespace: here) == nil)
            #expect(try store.read(sandbox: "theirs", ifOfNamespace: elsewhere)?.sandbox == "theirs")
            #expect(try store.read(sandbox: "absent", ifOfNamespace: here) == nil)
        }

        @Test func journalWithStepsEncodedOnceDecodesToTheSameJournal() throws {
            // A namespace path that holds the splice marker must not be taken for the steps key.
            var journal = SandboxJournal(
                sandbox: "splice", namespacePath: #"/run/netns/"steps":[]"#,
                identity: NamespaceIdentity(device: 3, inode: 4026531840), linkGroup: 0x5a000001)
            let mac = try #require(MACAddress("02:00:00:00:00:01"))
            let other = try #require(MACAddress("02:00:00:00:00:02"))
            let steps: [JournalStep] = [
                .createLink(name: "sn1t0"), .addIngressQdisc(link: "eth0"), .addRedirect(from: "eth0", to: "sn1t0"),
                .setMAC(link: "eth1", original: mac, replacement: other),
                .removeAddresses(link: "eth1", saved: SavedEndpointState(addresses: [], routes: [], neighbours: []))
            ]
            var encoded: [Data] = []
            for step in [[]] + steps.map({ [$0] }) {
                journal.steps += step
                encoded += try step.map(JournalStore.encode(step:))
                let spliced = try JournalStore.encode(journal, encodedSteps: encoded)
                #expect(try JSONDecoder().decode(SandboxJournal.self, from: spliced) == journal)
            }
            // A step list that does not match the journal's is not trusted: the whole journal is encoded.
            let mismatched = try JournalStore.encode(journal, encodedSteps: Array(encoded.dropLast()))
            #expect(try JSONDecoder().decode(SandboxJournal.self, from: mismatched) == journal)
        }

        @Test func deadOwnerIsDetectedByPidAndStartTime() throws {
            let me = getpid()
            let start = try #require(ProcessIdentity.startTime(of: me))
            #expect(ProcessIdentity.startTime(of: me) == start)
            #expect(ProcessIdentity.startTime(of: Int32.max - 1) == nil)
        }
    }
}
