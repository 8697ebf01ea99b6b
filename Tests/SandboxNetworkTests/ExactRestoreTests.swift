import Foundation
import SandboxNetwork
import TestSupport
import Testing

extension SandboxIntegration {
    /// Issue 11, point 5: what macvtap takes from an endpoint comes back exactly, after a
    /// detach and after an attach killed after any of its kernel changes and a `gc`: IPv4
    /// primary/secondary order under promote_secondaries, IPv6 order, routes of every table,
    /// and the local table of an endpoint without carrier.
    @Suite(.serialized) struct ExactRestoreTests {
        static let ready = TestEnvironment.isRoot && SandnetBinary.exists && LabBinary.exists
        static let why: Comment =
            TestEnvironment.isRoot
            ? "the sandnet and sandnet-lab binaries are not built (swift build)"
            : "needs root: creates network namespaces"

        @Test(.enabled(if: ready, why))
        func ipv4PrimaryAndSecondaryOrderSurvivesPromoteSecondaries() throws {
            try PodFixture.with { f in
                try f.addEndpoint("eth0", .veth, number: 0)
                try Self.sysctl(f, "net.ipv4.conf.all.promote_secondaries=1", "net.ipv4.conf.eth0.promote_secondaries=1")
                // Two subnets, each a primary and secondaries; removing a primary first promotes a secondary.
                for a in ["198.51.100.10/24", "198.51.100.11/24", "198.51.100.12/24", "203.0.113.10/28", "203.0.113.11/28"] {
                    try f.pod.ip("addr", "add", a, "dev", "eth0")
                }
                try f.pod.ip("route", "add", "default", "via", "198.51.100.1", "dev", "eth0")
                let order = try Self.addressOrder(f, "eth0")
                #expect(
                    order.filter { !$0.hasPrefix("fe80") } == [
                        "198.51.100.10/24", "203.0.113.10/28", "198.51.100.11/24 secondary", "198.51.100.12/24 secondary",
                        "203.0.113.11/28 secondary"
                    ])
                try Self.expectExactRestore(f, endpoint: "eth0", order: order)
            }
        }

        @Test(.enabled(if: ready, why))
        func ipv6AddressOrderComesBack() throws {
            try PodFixture.with { f in
                try f.addEndpoint("eth0", .veth, number: 0)
                // Forwarding makes the kernel add a subnet-router anycast route per prefix to the local table too.
                try Self.sysctl(f, "net.ipv6.conf.eth0.forwarding=1")
                try f.pod.ip("addr", "add", "198.51.100.10/24", "dev", "eth0")
                for a in ["2001:db8::2/64", "2001:db8::3/64", "2001:db8:1::2/64", "2001:db8::4/64"] {
                    try f.pod.ip("addr", "add", a, "dev", "eth0", "nodad")
                }
                try f.pod.ip("-6", "route", "add", "default", "via", "2001:db8::1", "dev", "eth0")
                let order = try Self.addressOrder(f, "eth0")
                // The kernel lists an IPv6 address before the older ones of its scope.
                #expect(
                    order.filter { $0.contains(":") && !$0.hasPrefix("fe80") } == [
                        "2001:db8::4/64", "2001:db8:1::2/64", "2001:db8::3/64", "2001:db8::2/64"
                    ])
                try Self.expectExactRestore(f, endpoint: "eth0", order: order)
            }
        }

        @Test(.enabled(if: ready, why))
        func routesOfEveryTableComeBack() throws {
            try PodFixture.withEndpoint { f in
                // Policy routing: tables 100 and 1000 (above 255: only RTA_TABLE holds it) via the endpoint.
                for table in ["100", "1000"] {
                    try f.pod.ip("route", "add", "203.0.113.64/28", "dev", "eth0", "table", table)
                    try f.pod.ip("route", "add", "default", "via", "198.51.100.1", "dev", "eth0", "table", table, "mtu", "1300")
                    try f.pod.ip("-6", "route", "add", "2001:db8:fe::/48", "dev", "eth0", "table", table)
                    try f.pod.ip("-6", "route", "add", "default", "via", "2001:db8:0::1", "dev", "eth0", "table", table)
                }
                // A route someone put in the local table by hand goes with the last IPv4 address too.
                try f.pod.ip("route", "add", "local", "203.0.113.200", "dev", "eth0", "table", "local")
                try f.pod.ip("rule", "add", "from", "198.51.100.10", "table", "100", "pref", "100")
                try f.pod.ip("-6", "rule", "add", "from", "2001:db8:0::2", "table", "1000", "pref", "100")
                try Self.expectExactRestore(f, endpoint: "eth0", order: try Self.addressOrder(f, "eth0"))
            }
        }

        @Test(.enabled(if: ready, why))
        func anEndpointWithoutCarrierGetsItsLocalTableBack() throws {
            try PodFixture.with { f in
                try f.addEndpoint("eth0", .veth, number: 0)
                // The peer is down: eth0 is up without carrier. Its addresses came while it was
                // down, so the kernel never made its ff00::/8 multicast route.
                try f.host.ip("link", "set", "ht0veth", "down")
                try f.pod.ip("link", "set", "eth0", "down")
                try f.pod.ip("addr", "add", "2001:db8::2/64", "dev", "eth0", "nodad")
                try f.pod.ip("link", "set", "eth0", "up")
                try f.configure("eth0", number: 0, ipv6: false)
                try f.pod.ip("-6", "route", "add", "2001:db8:ff0::/48", "via", "2001:db8::1", "dev", "eth0")
                #expect(try !f.pod.ip("-6", "route", "show", "table", "local", "dev", "eth0").contains("ff00::/8"))
                try Self.expectExactRestore(f, endpoint: "eth0", order: try Self.addressOrder(f, "eth0"))
            }
        }

        @Test(.enabled(if: ready, why))
        func anEndpointWithoutCarrierThatHadTheMulticastRouteKeepsIt() throws {
            try PodFixture.with { f in
                try f.addEndpoint("eth0", .veth, number: 0)
                try f.host.ip("link", "set", "ht0veth", "down")
                try f.configure("eth0", number: 0)
                #expect(try f.pod.ip("-6", "route", "show", "table", "local", "dev", "eth0").contains("ff00::/8"))
                try Self.expectExactRestore(f, endpoint: "eth0", order: try Self.addressOrder(f, "eth0"))
            }
        }

        // MARK: helpers

        /// A macvtap attach and detach, then an attach SIGKILLed after its 1st, 2nd, ... kernel
        /// change and a `gc`: every time the pod must be as it was, its endpoint's addresses in
        /// `order`. Stops at the first difference: later runs would start from a changed pod.
        static func expectExactRestore(_ f: PodFixture, endpoint: String, order: [String]) throws {
            let before = try f.snapshot()
            let state = StateDirectory()
            let attach = [
                "fault-attach", "--netns", f.pod.namespace.path, "--sandbox", "exact", "--model", "macvtap",
                "--vcpus", "1", "--state-dir", state.path, "--json"
            ]
            func same(_ label: String) throws -> Bool {
                let orderAfter = try addressOrder(f, endpoint)
                #expect(orderAfter == order, "\(label)")
                let after = try f.snapshot()
                if after != before { Issue.record("\(label): the pod differs:\n\(try diff(before, after))") }
                return after == before && orderAfter == order
            }
            // A kill after change 1000 never comes: the attach completes.
            let full = try LabBinary.run(attach + ["--kill-after", "1000"])
            try #require(full.status == 0 && !full.killedBySignal, "\(full.stderr)")
            let changes =
                try #require(try JSONSerialization.jsonObject(with: Data(full.stdout.utf8)) as? [String: Any])["kernelChanges"] as? Int
            let d = try SandnetBinary.run(["detach", "--sandbox", "exact", "--state-dir", state.path])
            #expect(d.status == 0, "\(d.stderr)")
            guard try same("after a full attach and detach") else { return }
            let total = try #require(changes, "the attach's JSON says how many kernel changes it made: \(full.stdout)")
            #expect(total >= 4, "only \(total) kernel changes to kill after")
            for n in 1..<total {
                let r = try LabBinary.run(attach + ["--kill-after", "\(n)"])
                #expect(r.killedBySignal && r.status == SIGKILL, "attach with a kill after change \(n) of \(total): \(r.stderr)")
                let gc = try SandnetBinary.run(["gc", "--state-dir", state.path, "--json"])
                #expect(gc.status == 0, "gc after a kill at change \(n): \(gc.stderr)")
                guard try same("killed after change \(n) of \(total), then gc") else { return }
            }
        }

        /// `ip -j addr` order of `link`'s addresses: "PREFIX[ secondary]".
        static func addressOrder(_ f: PodFixture, _ link: String) throws -> [String] {
            let info = try f.pod.ipJSON("addr", "show", "dev", link).first?["addr_info"] as? [[String: Any]] ?? []
            return info.map { a in
                "\(a["local"] ?? "?")/\(a["prefixlen"] ?? "?")" + ((a["secondary"] as? Bool) == true ? " secondary" : "")
            }
        }

        /// `diff -u` of two snapshots: the lines that differ, with enough around them to say where.
        static func diff(_ a: String, _ b: String) throws -> String {
            let dir = NSTemporaryDirectory() + "sandnet-diff-\(getpid())"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            try a.write(toFile: dir + "/before", atomically: true, encoding: .utf8)
            try b.write(toFile: dir + "/after", atomically: true, encoding: .utf8)
            return try TestEnvironment.run(["diff", "-U", "6", dir + "/before", dir + "/after"]).stdout
        }

        static func sysctl(_ f: PodFixture, _ settings: String...) throws {
            try TestEnvironment.sh(["ip", "netns", "exec", f.pod.name, "sysctl", "-q", "-w"] + settings)
        }
    }
}
