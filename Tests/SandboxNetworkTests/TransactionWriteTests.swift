import Foundation
import NetlinkSocket
import SandnetCore
import Testing

@testable import SandboxNetwork

extension SandboxIntegration {
    /// The attach's journal writes keep the encoded journal around its steps and the checked
    /// directory between writes; what is on disk must still be the journal in memory.
    @Suite(.serialized) struct TransactionWriteTests {
        static func journal(_ sandbox: String, inode: UInt64) -> SandboxJournal {
            var j = SandboxJournal(
                sandbox: sandbox, namespacePath: "/run/netns/tx", identity: NamespaceIdentity(device: 4, inode: inode),
                cookie: 77, linkGroup: 0x534e_0001)
            j.endpoints = [EndpointClaim(name: "eth0", ifindex: 2), EndpointClaim(name: "eth1", ifindex: 3)]
            return j
        }

        static func onDisk(_ store: JournalStore, _ sandbox: String) throws -> SandboxJournal {
            try JSONDecoder().decode(SandboxJournal.self, from: Data(contentsOf: URL(fileURLWithPath: store.path(of: sandbox))))
        }

        @Test func everyWriteOfATransactionIsTheJournalInMemory() throws {
            let state = StateDirectory()
            let store = JournalStore(directory: state.path)
            let start = Self.journal("tx1", inode: 4026532871)
            try store.write(start)
            let tx = Transaction(journal: start, store: store, logger: SandboxLogging.silent)
            let taps = try tx.intend([.createLink(name: "sn1t0", kind: "tun"), .createLink(name: "sn1t1", kind: "tun")])
            #expect(try Self.onDisk(store, "tx1") == tx.journal)
            try tx.confirm(taps[0], .createLink(name: "sn1t0", kind: "tun", ifindex: 40))
            // A confirmation reaches the disk with the next write, not before.
            #expect(try Self.onDisk(store, "tx1").steps[taps[0]] == .createLink(name: "sn1t0", kind: "tun"))
            let sides = try tx.intend([
                .addIngressQdisc(link: "eth0", ifindex: 2),
                .addRedirect(from: "eth0", to: "sn1t0", fromIndex: 2, toIndex: 40, priority: 1)
            ])
            #expect(try Self.onDisk(store, "tx1") == tx.journal)
            try tx.confirm(sides[0], .addIngressQdisc(link: "eth0", ifindex: 2, added: true))
            try tx.flush()
            #expect(try Self.onDisk(store, "tx1") == tx.journal)
            // A change to anything but the steps is written too (the kept frame is dropped).
            try tx.update {
                $0.state = .attached
                $0.ownerPID = nil
                $0.deviceNodes = ["tap9"]
            }
            let final = try Self.onDisk(store, "tx1")
            #expect(final == tx.journal)
            #expect(final.state == .attached && final.deviceNodes == ["tap9"] && final.steps.count == 4)
            _ = try tx.intend([.addIngressQdisc(link: "sn1t0", ifindex: 40)])
            #expect(try Self.onDisk(store, "tx1") == tx.journal)
            #expect(try store.read(sandbox: "tx1") == tx.journal)
        }

        @Test func theJournalsOfANamespaceAreReadOnceAsEachReadWouldReadThem() throws {
            let state = StateDirectory()
            let store = JournalStore(directory: state.path)
            let here = NamespaceIdentity(device: 4, inode: 4026532871)
            #expect(try store.journals(ofNamespace: here, except: "mine").isEmpty)
            for id in ["b", "a", "mine"] { try store.write(Self.journal(id, inode: here.inode)) }
            try store.write(Self.journal("elsewhere", inode: 4026532999))
            // One that cannot be trusted (mode 0644) is left out, as `read` refuses it.
            try store.write(Self.journal("loose", inode: here.inode))
            chmod(store.path(of: "loose"), 0o644)
            #expect(throws: SandboxError.self) { try store.read(sandbox: "loose") }
            let peers = try store.journals(ofNamespace: here, except: "mine")
            #expect(peers.map(\.id) == ["a", "b"])
            for (id, j) in peers { #expect(try store.read(sandbox: id, ifOfNamespace: here) == j) }
        }
    }
}
