import Foundation
import NetlinkSocket
import SandnetCore
import Testing

@testable import SandboxNetwork

/// The steps written without JSONEncoder must decode, with the journal's decoder, to the
/// very step, whatever the names hold.
@Suite struct JournalStepJSONTests {
    static let names = ["e0", "", "sn1t0", #"a"b"#, #"back\slash"#, "tab\there", "nl\n\u{1}\u{1f}", "é/ü✓", "emoji🙂", "sp ace"]

    static var steps: [JournalStep] {
        var out: [JournalStep] = []
        for n in names {
            out += [
                .createLink(name: n), .createLink(name: n, kind: "tun"), .createLink(name: n, kind: n, ifindex: Int32.max),
                .addIngressQdisc(link: n), .addIngressQdisc(link: n, ifindex: 2), .addIngressQdisc(link: n, ifindex: -1, added: false),
                .addIngressQdisc(link: n, ifindex: 7, added: true),
                .addRedirect(from: n, to: "sn1t0"),
                .addRedirect(from: "e0", to: n, fromIndex: 2, toIndex: 40, priority: 1),
                .addRedirect(from: n, to: n, fromIndex: Int32.min, toIndex: 0, priority: UInt16.max, handle: 0x8000_0800),
                .setTxQueueLength(link: n, ifindex: 3, original: 0, replacement: 1000),
                .addRateQdisc(link: n, ifindex: nil, handle: 0x534e_0000),
                .addRateQdisc(link: n, ifindex: 4, handle: 0x534e_0000, added: true),
                .addRateClass(link: n, ifindex: 4, classID: 0x534e_0001, rate: UInt64.max, added: nil),
                .addRateClass(link: n, ifindex: nil, classID: 1, rate: 50_000_000, added: false)
            ]
        }
        return out
    }

    @Test func directStepsDecodeToTheStep() throws {
        for step in Self.steps {
            let direct = try #require(step.directJSON, "\(step) has no direct JSON")
            #expect(try JSONDecoder().decode(JournalStep.self, from: direct) == step, "\(String(decoding: direct, as: UTF8.self))")
            // The same value JSONEncoder's bytes give.
            let viaEncoder = try JournalStore.makeEncoder().encode(step)
            #expect(try JSONDecoder().decode(JournalStep.self, from: viaEncoder) == step)
            #expect(try JournalStore.encode(step: step) == direct)
        }
    }

    @Test func theOtherStepsAreLeftToJSONEncoder() throws {
        let mac = try #require(MACAddress("02:00:00:00:00:01"))
        let other = try #require(MACAddress("02:00:00:00:00:02"))
        let steps: [JournalStep] = [
            .setMAC(link: "e0", original: mac, replacement: other),
            .removeAddresses(link: "e0", saved: SavedEndpointState(addresses: [], routes: [], neighbours: []))
        ]
        for step in steps {
            #expect(step.directJSON == nil)
            #expect(try JSONDecoder().decode(JournalStep.self, from: JournalStore.encode(step: step)) == step)
        }
    }

    @Test func aJournalOfDirectStepsDecodesWhole() throws {
        var journal = SandboxJournal(
            sandbox: "direct", namespacePath: "/run/netns/d", identity: NamespaceIdentity(device: 4, inode: 4026532871),
            linkGroup: 0x534e_0001)
        journal.steps = Self.steps
        let data = try JournalStore.encode(journal, encodedSteps: journal.steps.map(JournalStore.encode(step:)))
        #expect(try JSONDecoder().decode(SandboxJournal.self, from: data) == journal)
    }
}
