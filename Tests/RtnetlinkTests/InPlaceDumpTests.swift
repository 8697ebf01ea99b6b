import Foundation
import NetlinkCodec
import NetlinkSocket
import Rtnetlink
import SandnetCore
import TestSupport
import Testing

/// The typed dumps decode each reply in the socket's receive buffer; what they return must
/// be what decoding the copied reply messages one by one gives.
@Suite(.serialized) struct InPlaceDumpTests {
    @Test(.enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"))
    func typedDumpsEqualDecodingTheReplyMessages() throws {
        try TestNamespace.with { ns in
            let rt = try Rtnetlink(namespace: ns.namespace)
            defer { rt.close() }
            // Enough objects for several datagrams per dump, with IPv4 and IPv6 addresses,
            // routes and permanent neighbours on every link.
            var lines: [String] = ["link set lo up"]
            for p in 0..<40 {
                lines.append("link add ipd-a\(p) type veth peer name ipd-b\(p)")
                for dev in ["ipd-a\(p)", "ipd-b\(p)"] {
                    let n = lines.count % 250 + 1
                    lines += [
                        "link set \(dev) up", "addr add 198.51.100.\(n)/32 dev \(dev)",
                        "addr add 2001:db8:1:\(String(lines.count, radix: 16))::1/64 dev \(dev) nodad",
                        "route add 2001:db8:2:\(String(lines.count, radix: 16))::/64 dev \(dev)",
                        "neigh add 203.0.113.\(n) lladdr 02:00:00:00:00:\(String(format: "%02x", n)) dev \(dev) nud permanent"
                    ]
                }
            }
            let setup = try TestEnvironment.run(["ip", "-n", ns.name, "-batch", "-"], stdin: lines.joined(separator: "\n") + "\n")
            try #require(setup.status == 0, "ip -batch: \(setup.stderr)")

            // Counters move between two dumps, and links just set up still change state (carrier,
            // operstate): each typed dump is compared with copied dumps taken right before and
            // after it, once those two agree (bounded).
            func settled<T: Equatable>(_ what: String, typed: () throws -> [T], copied: () throws -> [T]) throws -> [T] {
                for _ in 0..<50 {
                    let before = try copied()
                    let viaBuffer = try typed()
                    if try copied() == before {
                        #expect(viaBuffer == before, "\(what): the in-place dump differs from decoding the copied replies")
                        if viaBuffer != before {
                            for (x, y) in zip(viaBuffer, before) where x != y { Issue.record("\(what): \(x) != \(y)") }
                        }
                        return viaBuffer
                    }
                    Thread.sleep(forTimeInterval: 0.02)
                }
                Issue.record("\(what): the namespace never settled")
                return []
            }
            func withoutCounters(_ links: [Link]) -> [Link] {
                links.map {
                    var l = $0
                    l.statistics = nil
                    return l
                }
            }
            let links = try settled("links", typed: { withoutCounters(try rt.links()) }) {
                let replies = try rt.dump(NetlinkMessage(type: RTM.GETLINK, flags: [], body: IfInfoMessage().bytes))
                return withoutCounters(try replies.filter { $0.header.type == RTM.NEWLINK }.map(Link.decode))
            }
            #expect(links.count == 81)
            #expect(links.allSatisfy { $0.address?.count == 6 })

            let addresses = try settled("addresses", typed: { try rt.addresses() }) {
                try rt.dump(Rtnetlink.addressDumpRequest()).filter { $0.header.type == RTM.NEWADDR }.compactMap(Address.decode)
            }
            #expect(addresses.filter { $0.prefix.address.description.hasPrefix("2001:db8:1:") }.count == 80)

            let routes = try settled("routes", typed: { try rt.routes(table: nil) }) {
                try rt.dump(Rtnetlink.routeDumpRequest()).filter { $0.header.type == RTM.NEWROUTE }.compactMap(Route.decode)
                    .filter { $0.flags & RTM_F.CLONED == 0 }
            }
            #expect(routes.filter { $0.destination?.address.isIPv4 == false && $0.destination?.length == 64 }.count >= 80)

            let neighbours = try settled("neighbours", typed: { try rt.neighbours() }) {
                try rt.dump(Rtnetlink.neighbourDumpRequest()).filter { $0.header.type == RTM.NEWNEIGH }.compactMap(Neighbour.decode)
            }
            #expect(neighbours.filter(\.isPermanent).count == 80)
            // Cross-checked with ip: the same permanent entries and MACs.
            let ipNeighbours = try ns.ipJSON("neigh", "show", "nud", "permanent")
            let ipPairs = Set(ipNeighbours.compactMap { n in (n["dst"] as? String).map { "\($0) \(n["lladdr"] as? String ?? "")" } })
            let ours = Set(
                neighbours.filter(\.isPermanent).map { "\($0.destination?.description ?? "") \($0.linkAddress?.description ?? "")" })
            #expect(ours == ipPairs)
        }
    }
}
