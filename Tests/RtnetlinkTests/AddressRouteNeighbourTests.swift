import Foundation
import NetlinkCodec
import NetlinkSocket
import Rtnetlink
import SandnetCore
import TestSupport
import Testing

/// Addresses, routes and neighbours made by sandnet and read back by `ip -j -d`, and the
/// reverse: objects made by `ip` decoded by sandnet. Field by field.
@Suite(.serialized) struct AddressRouteNeighbourTests {
    /// A namespace with a veth pair sn0/sn1, both up, so routes and neighbours have a live link.
    static func withLinkedNamespace(_ body: (TestNamespace, Rtnetlink, Int32) throws -> Void) throws {
        try TestNamespace.with { ns in
            // No automatic IPv6 link-local addresses: they (and their fe80::/64 routes) appear
            // asynchronously after a link comes up and would race the cross-checks.
            _ = try TestEnvironment.sh(["ip", "netns", "exec", ns.name, "sysctl", "-qw", "net.ipv6.conf.default.addr_gen_mode=1"])
            let rt = try Rtnetlink(namespace: ns.namespace)
            defer { rt.close() }
            try rt.linkAdd(LinkSpec(name: "sn0", kind: .veth(peerName: "sn1"), up: true))
            try rt.linkSet(.name("sn1"), LinkChange(up: true))
            try body(ns, rt, try rt.index(of: .name("sn0")))
        }
    }

    static func ipAddresses(_ ns: TestNamespace, _ dev: String) throws -> [[String: Any]] {
        (try ns.ipJSON("-d", "addr", "show", "dev", dev).first?["addr_info"] as? [[String: Any]]) ?? []
    }

    /// Every field `ip -j addr` prints for `a` must match sandnet's view.
    static func expectSame(_ a: Address, _ j: [String: Any], device: String) {
        #expect(j["family"] as? String == a.family.description)
        #expect(j["local"] as? String == a.prefix.address.description)
        #expect(j["prefixlen"] as? Int == a.prefix.length)
        #expect(j["scope"] as? String == a.scopeName)
        #expect(j["address"] as? String == a.peer?.description)
        #expect(j["broadcast"] as? String == a.broadcast?.description)
        if a.family == .inet { #expect(j["label"] as? String == a.label) }
        #expect(j["valid_life_time"] as? UInt32 == a.validLifetime)
        #expect(j["preferred_life_time"] as? UInt32 == a.preferredLifetime)
        // ip prints "dynamic" for what lacks IFA_F_PERMANENT, and each other flag by name.
        #expect((j["dynamic"] as? Bool ?? false) == !a.isPermanent)
        for name in a.flagNames where name != "permanent" { #expect(j[name] as? Bool == true, "flag \(name) of \(a.prefix)") }
    }

    @Test(.enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"))
    func addressesAddedBySandnetAreWhatIpSees() throws {
        try Self.withLinkedNamespace { ns, rt, index in
            let v4 = try #require(IPPrefix("198.51.100.2/24"))
            let v6 = try #require(IPPrefix("2001:db8::2/64"))
            try rt.addressAdd(v4, to: .name("sn0"))
            try rt.addressAdd(
                AddressSpec(
                    try #require(IPPrefix("198.51.100.5/32")), peer: IPAddress("198.51.100.6"),
                    label: "sn0:p", scope: .link), to: .index(index))
            try rt.addressAdd(v6, to: .name("sn0"))
            let ours = try rt.addresses(of: .name("sn0")).filter { !$0.prefix.address.description.hasPrefix("fe80") }
            let theirs = try Self.ipAddresses(ns, "sn0").filter { !(($0["local"] as? String) ?? "").hasPrefix("fe80") }
            #expect(ours.count == 3 && theirs.count == 3)
            for a in ours {
                let j = try #require(theirs.first { $0["local"] as? String == a.prefix.address.description })
                Self.expectSame(a, j, device: "sn0")
            }
            let six = try #require(ours.first { $0.prefix == v6 })
            #expect(six.flags & IFA_F.NODAD != 0 && six.flags & IFA_F.TENTATIVE == 0)
            #expect(ours.first { $0.prefix.address == IPAddress("198.51.100.5") }?.label == "sn0:p")

            try rt.addressDelete(v4, from: .name("sn0"))
            try rt.addressDelete(v6, from: .index(index))
            let left = try Self.ipAddresses(ns, "sn0").compactMap { $0["local"] as? String }
            #expect(!left.contains("198.51.100.2") && !left.contains("2001:db8::2") && left.contains("198.51.100.5"))
        }
    }

    @Test(.enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"))
    func addressesAddedByIpAreDecoded() throws {
        try Self.withLinkedNamespace { ns, rt, _ in
            try ns.ip("addr", "add", "203.0.113.7/25", "brd", "+", "dev", "sn1", "label", "sn1:x")
            try ns.ip("addr", "add", "2001:db8:5::7/80", "dev", "sn1", "nodad", "noprefixroute", "valid_lft", "600", "preferred_lft", "300")
            let ours = try rt.addresses(of: .name("sn1")).filter { $0.scope == .universe }
            #expect(ours.count == 2)
            let four = try #require(ours.first { $0.family == .inet })
            #expect(four.broadcast == IPAddress("203.0.113.127") && four.label == "sn1:x")
            let six = try #require(ours.first { $0.family == .inet6 })
            #expect(six.flagNames.contains("noprefixroute") && !six.isPermanent)
            #expect((six.validLifetime ?? 0) <= 600 && (six.validLifetime ?? 0) > 0)
            let theirs = try Self.ipAddresses(ns, "sn1")
            for a in ours {
                Self.expectSame(a, try #require(theirs.first { $0["local"] as? String == a.prefix.address.description }), device: "sn1")
            }
        }
    }

    @Test(.enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"))
    func duplicateAndMissingAddressesAreTypedKernelErrors() throws {
        try Self.withLinkedNamespace { _, rt, _ in
            let p = try #require(IPPrefix("198.51.100.2/24"))
            try rt.addressAdd(p, to: .name("sn0"))
            #expect(Self.errno { try rt.addressAdd(p, to: .name("sn0")) } == EEXIST)
            try rt.addressAdd(AddressSpec(p, replace: true), to: .name("sn0")) // replace is fine
            try rt.addressDelete(p, from: .name("sn0"))
            #expect(Self.errno { try rt.addressDelete(p, from: .name("sn0")) } == EADDRNOTAVAIL)
        }
    }

    // MARK: routes

    /// Compares a route with its `ip -j -d route` entry.
    static func expectSame(_ r: Route, _ j: [String: Any], names: [Int32: String]) {
        #expect(
            j["dst"] as? String
                == (r.destination.map { $0.length == $0.address.bitLength ? $0.address.description : $0.description } ?? "default"))
        #expect(j["gateway"] as? String == r.gateway?.description)
        #expect(j["dev"] as? String == r.outputIndex.flatMap { names[$0] })
        #expect(j["prefsrc"] as? String == r.preferredSource?.description)
        #expect(j["protocol"] as? String == r.protocolName)
        #expect((j["scope"] as? String ?? "global") == r.scopeName)
        #expect((j["type"] as? String ?? "unicast") == r.typeName)
        #expect((j["table"] as? String ?? "main") == r.tableName)
        #expect(j["metric"] as? UInt32 == r.priority)
        let metrics = (j["metrics"] as? [[String: Any]])?.reduce(into: [String: Any]()) { $0.merge($1) { a, _ in a } } ?? [:]
        #expect(metrics["mtu"] as? UInt32 == r.metrics.mtu)
        #expect(metrics["advmss"] as? UInt32 == r.metrics.advmss)
        #expect(((j["flags"] as? [String]) ?? []).contains("onlink") == r.isOnLink)
    }

    static func ipRoutes(_ ns: TestNamespace, _ args: String...) throws -> [[String: Any]] {
        try TestEnvironment.jsonArgs(["ip", "-n", ns.name, "-j", "-d"] + args + ["route", "show", "table", "all"])
    }

    static func matching(_ r: Route, in list: [[String: Any]], names: [Int32: String]) -> [String: Any]? {
        let dst = r.destination.map { $0.length == $0.address.bitLength ? $0.address.description : $0.description } ?? "default"
        return list.first {
            ($0["dst"] as? String) == dst && ($0["table"] as? String ?? "main") == r.tableName
                && ($0["type"] as? String ?? "unicast") == r.typeName && ($0["dev"] as? String) == r.outputIndex.flatMap { names[$0] }
        }
    }

    @Test(.enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"))
    func routesAddedBySandnetAreWhatIpSees() throws {
        try Self.withLinkedNamespace { ns, rt, index in
            try rt.addressAdd(try #require(IPPrefix("198.51.100.2/24")), to: .name("sn0"))
            try rt.addressAdd(try #require(IPPrefix("2001:db8::2/64")), to: .name("sn0"))
            let specs = [
                RouteSpec(
                    destination: IPPrefix("203.0.113.0/24"), gateway: IPAddress("198.51.100.1"), device: .name("sn0"),
                    preferredSource: IPAddress("198.51.100.2"), protocolID: .static, priority: 7,
                    metrics: RouteMetrics(mtu: 1300, advmss: 1200)),
                RouteSpec(destination: IPPrefix("203.0.113.128/25"), device: .index(index), table: 1000),
                RouteSpec(destination: IPPrefix("203.0.113.64/26"), device: .name("sn0"), scope: .host, table: 42),
                RouteSpec(destination: nil, gateway: IPAddress("198.51.100.1"), device: .name("sn0")),
                RouteSpec(
                    destination: IPPrefix("2001:db8:7::/48"), gateway: IPAddress("2001:db8::1"), device: .name("sn0"),
                    protocolID: RouteProtocol(rawValue: 99), priority: 300, metrics: RouteMetrics(mtu: 1400)),
                RouteSpec(
                    destination: IPPrefix("2001:db8:8::/48"), gateway: IPAddress("2001:db8:ffff::1"), device: .name("sn0"),
                    onLink: true),
                RouteSpec(destination: IPPrefix("2001:db8:9::/64"), type: .blackhole, family: .inet6)
            ]
            for s in specs { try rt.routeAdd(s) }
            let names = Dictionary(try rt.links().map { ($0.index, $0.name) }, uniquingKeysWith: { a, _ in a })
            let ours = try rt.routes(table: nil)
            let theirs = try Self.ipRoutes(ns)
            for s in specs {
                let r = try #require(
                    ours.first { $0.destination == s.destination && $0.table == s.table && $0.family == s.addressFamily },
                    "route \(s.destination?.description ?? "default") table \(s.table)")
                #expect(r.gateway == s.gateway && r.protocolID == s.protocolID && r.metrics == s.metrics && r.isOnLink == s.onLink)
                Self.expectSame(r, try #require(Self.matching(r, in: theirs, names: names)), names: names)
            }
            // The whole main table, both families, matches `ip` entry for entry.
            let main = try rt.routes()
            let ipMain = theirs.filter { ($0["table"] as? String ?? "main") == "main" }
            #expect(main.count == ipMain.count)
            for r in main { Self.expectSame(r, try #require(Self.matching(r, in: ipMain, names: names)), names: names) }

            for s in specs { try rt.routeDelete(s) }
            let after = try rt.routes(table: nil)
            for s in specs {
                #expect(!after.contains { $0.destination == s.destination && $0.table == s.table && $0.family == s.addressFamily })
            }
            #expect(Self.errno { try rt.routeDelete(specs[0]) } == ESRCH)
        }
    }

    @Test(.enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"))
    func routesAddedByIpAreDecoded() throws {
        try Self.withLinkedNamespace { ns, rt, _ in
            try ns.ip("addr", "add", "198.51.100.2/24", "dev", "sn0")
            try ns.ip(
                "route", "add", "203.0.113.0/24", "via", "198.51.100.1", "proto", "static", "metric", "9", "mtu", "lock", "1280", "table",
                "5000")
            try ns.ip("route", "add", "unreachable", "203.0.113.128/25")
            try ns.ip("-6", "route", "add", "2001:db8:3::/64", "dev", "sn1", "metric", "1", "hoplimit", "9")
            let names = Dictionary(try rt.links().map { ($0.index, $0.name) }, uniquingKeysWith: { a, _ in a })
            let ours = try rt.routes(table: nil)
            let theirs = try Self.ipRoutes(ns)
            let t = try #require(ours.first { $0.table == 5000 })
            #expect(t.gateway == IPAddress("198.51.100.1") && t.metrics.mtu == 1280 && t.priority == 9 && t.protocolName == "static")
            #expect(t.metrics.other[1] == 1 << RTAX.MTU) // RTAX_LOCK: `mtu lock` sets the MTU's bit
            #expect(ours.first { $0.destination == IPPrefix("203.0.113.128/25") }?.typeName == "unreachable")
            #expect(ours.first { $0.destination == IPPrefix("2001:db8:3::/64") }?.metrics.hoplimit == 9)
            for r in ours where r.table != .local {
                Self.expectSame(
                    r, try #require(Self.matching(r, in: theirs, names: names), "\(r.destinationText) table \(r.table)"), names: names)
            }
        }
    }

    // MARK: neighbours

    @Test(.enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"))
    func neighboursAddReplaceDeleteMatchIp() throws {
        try Self.withLinkedNamespace { ns, rt, index in
            let mac = try #require(MACAddress("02:00:5e:00:53:09"))
            let v4 = try #require(IPAddress("198.51.100.9"))
            let v6 = try #require(IPAddress("2001:db8::9"))
            try rt.neighbourAdd(v4, linkAddress: mac, on: .name("sn0"))
            try rt.neighbourAdd(v6, linkAddress: mac, on: .index(index), state: .stale)
            #expect(Self.errno { try rt.neighbourAdd(v4, linkAddress: mac, on: .name("sn0")) } == EEXIST)
            let mac2 = try #require(MACAddress("02:00:5e:00:53:0a"))
            try rt.neighbourAdd(v4, linkAddress: mac2, on: .name("sn0"), replace: true)
            try ns.ip("neigh", "add", "203.0.113.1", "lladdr", "02:00:5e:00:53:01", "dev", "sn1", "nud", "reachable", "router")
            // NOARP multicast entries come and go on their own as interfaces join groups; the
            // entries this test made are stable, so compare those (and everything else ip shows).
            let ours = try rt.neighbours().filter { !$0.state.contains(.noARP) }
            let theirs = try ns.ipJSON("-d", "neigh", "show", "nud", "all").filter { !(($0["state"] as? [String]) ?? []).contains("NOARP") }
            #expect(ours.count == theirs.count && ours.count == 3)
            let names = Dictionary(try rt.links().map { ($0.index, $0.name) }, uniquingKeysWith: { a, _ in a })
            for n in ours {
                let j = try #require(
                    theirs.first { $0["dst"] as? String == n.destination?.description && $0["dev"] as? String == names[n.index] })
                #expect(j["lladdr"] as? String == n.linkAddress?.description)
                #expect(j["state"] as? [String] == n.stateNames)
                #expect((j["router"] != nil) == n.isRouter)
            }
            #expect(ours.first { $0.destination == v4 }?.linkAddress == mac2)
            #expect(ours.first { $0.destination == v6 }?.stateNames == ["STALE"])
            #expect(ours.first { $0.destination == IPAddress("203.0.113.1") }?.isRouter == true)
            try rt.neighbourDelete(v4, on: .name("sn0"))
            try rt.neighbourDelete(v6, on: .name("sn0"))
            #expect(Self.errno { try rt.neighbourDelete(v4, on: .name("sn0")) } == ENOENT)
            let left = try ns.ipJSON("neigh", "show", "nud", "all").compactMap { $0["dst"] as? String }
            #expect(!left.contains("198.51.100.9") && !left.contains("2001:db8::9") && left.contains("203.0.113.1"))
        }
    }

    /// The errno of the NetlinkError `body` throws, or nil.
    static func errno(_ body: () throws -> Void) -> Int32? {
        do {
            try body()
            return nil
        } catch let e as NetlinkError { return e.errno } catch { return nil }
    }
}
