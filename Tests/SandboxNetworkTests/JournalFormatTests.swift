import Foundation
import Rtnetlink
import SandboxNetwork
import SandnetCore
import Testing

/// The journal on disk outlives the code that wrote it: a sandbox attached before an
/// upgrade is detached after it. These literals are journals as sandnet wrote them
/// when SavedRoute/SavedAddress held raw UInt8/UInt32 kernel numbers.
@Suite struct JournalFormatTests {
    static let oldJournal = #"""
        {"format":1,"sandbox":"old","namespacePath":"/run/netns/pod","namespaceDevice":4,"namespaceInode":4026532300,
         "linkGroup":1509949441,"state":"attached","ownerPID":4242,"ownerStartTime":1234567,
         "steps":[{"createLink":{"name":"sn1t0"}},
                  {"setMAC":{"link":"eth1","original":"02:00:00:00:00:01","replacement":"02:00:00:00:00:02"}},
                  {"removeAddresses":{"link":"eth1","saved":{
                    "addresses":[{"prefix":"198.51.100.2/24","broadcast":"198.51.100.255","label":"eth1","scope":0,"flags":128},
                                 {"prefix":"2001:db8::2/64","scope":0,"flags":130}],
                    "routes":[{"family":2,"destination":"0.0.0.0/0","gateway":"198.51.100.1","scope":0,"protocolID":4,
                               "table":254,"type":1,"priority":100,"mtu":1400,"onLink":false},
                              {"family":10,"destination":"2001:db8:7::/64","scope":253,"protocolID":186,"table":5000,
                               "type":7,"onLink":true}],
                    "neighbours":[{"address":"198.51.100.1","mac":"02:00:5e:00:53:01","permanent":true}]}}}]}
        """#

    @Test func journalWrittenWithRawNumbersStillDecodes() throws {
        let dir = NSTemporaryDirectory() + "sandnet-journal-format-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/old.json"
        try Data(Self.oldJournal.utf8).write(to: URL(fileURLWithPath: path))

        let journal = try JournalStore(directory: dir).read(path: path)
        #expect(journal.sandbox == "old" && journal.steps.count == 3 && journal.ownerPID == 4242)
        guard case .removeAddresses(let link, let saved) = try #require(journal.steps.last) else {
            Issue.record("last step is not removeAddresses: \(journal.steps)")
            return
        }
        #expect(link == "eth1")
        // Written before the kernel's own routes were saved: restore then leaves them be.
        #expect(saved.kernelRoutes == nil)
        #expect(saved.addresses.map(\.scope) == [.universe, .universe] && saved.addresses.map(\.flags) == [128, 130])
        let v4 = try #require(saved.routes.first)
        let v6 = try #require(saved.routes.last)
        #expect(v4.family == .inet && v4.scope == .universe && v4.protocolID == .static && v4.table == .main && v4.type == .unicast)
        #expect(v4.gateway == IPAddress("198.51.100.1") && v4.priority == 100 && v4.mtu == 1400)
        // Values without a name (bgp's protocol number, a numbered table) come through as numbers.
        #expect(v6.family == .inet6 && v6.scope == .link && v6.protocolID.rawValue == 186 && v6.protocolID.description == "bgp")
        #expect(v6.table == RouteTable(5000) && v6.type == .unreachable && v6.onLink)
        #expect(saved.neighbours.first?.permanent == true)

        // Written back, the typed fields are the same numbers as before.
        let again = try JSONSerialization.jsonObject(with: JournalStore.encode(journal)) as? [String: Any]
        let steps = try #require(again?["steps"] as? [[String: Any]])
        let savedJSON = try #require((steps.last?["removeAddresses"] as? [String: Any])?["saved"] as? [String: Any])
        let routes = try #require(savedJSON["routes"] as? [[String: Any]])
        #expect(routes.map { $0["family"] as? Int } == [2, 10])
        #expect(routes.map { $0["scope"] as? Int } == [0, 253])
        #expect(routes.map { $0["protocolID"] as? Int } == [4, 186])
        #expect(routes.map { $0["table"] as? Int } == [254, 5000])
        #expect(routes.map { $0["type"] as? Int } == [1, 7])
        #expect((savedJSON["addresses"] as? [[String: Any]])?.map { $0["scope"] as? Int } == [0, 0])
        #expect(try JSONDecoder().decode(SandboxJournal.self, from: JournalStore.encode(journal)) == journal)
    }
}
