import Foundation
import GuestLab
import QemuWiring
import SandboxNetwork
import SandnetCore
import TestSupport
import Testing

/// Issue 14 in real guests, several assertions per boot (TCG boots are the expensive part):
/// queue counts apart from vCPUs seen in the guest's sysfs and in QEMU's arguments, a
/// 50 Mbit/s limit each way measured by the guest next to an unlimited NIC, and the
/// dual-stack pod applied by the guest's iproute2 and compared with the description.
@Suite(.serialized, .enabled(if: TestEnvironment.isRoot, "needs root: namespaces, CNI bridges and taps"))
struct QueuesRatesDualStackTests {
    static let limit: UInt64 = 50_000_000
    static let blob = Lab.blobSize

    /// 3 NICs on 1 vCPU with 4 queues each: eth0 unlimited and dual stack, eth1 capped at
    /// 50 Mbit/s both ways, eth2 at 50 Mbit/s receive and 20 Mbit/s transmit. (Under TCG on
    /// this host a guest transmits about 50 Mbit/s at best, so the 50 Mbit/s transmit cap is
    /// measured and printed, and the transmit cap is asserted at 20 Mbit/s, which it can miss.)
    func runLimitedDualStack(_ arch: Architecture) throws {
        let image = try #require(GuestImage.cached(arch))
        var o = EndToEnd.Options(architecture: arch, model: .tcfilter, nics: 3)
        o.vcpus = 1
        o.queues = 4
        o.rateLimits = [
            "eth1": RateLimit(receive: Self.limit, transmit: Self.limit), "eth2": RateLimit(receive: Self.limit, transmit: 20_000_000)
        ]
        o.dualStack = DualStackPlan()
        o.uploadBytes = 2 * Self.blob
        o.timeoutSeconds = 420
        let r = try EndToEnd.run(o, image: image)
        let guest = try #require(r.guest)
        for l in guest.console where l.contains("SANDNET-STAGE tools") || l.contains("SANDNET-JSON") || l.contains("ethtool") {
            print("guest: \(l.prefix(400))")
        }
        try checkQueues(r, guest, queues: 4)
        #expect(Set(r.results.map(\.token)) == [r.token])

        // Rates: the guest probes the targets in NIC order (eth0, eth1, eth2).
        #expect(r.results.count == 3)
        let free = r.results[0]
        let limited = r.results[1]
        let mixed = r.results[2]
        // The cap is asserted (+15 %); the floor only at half the limit, because a TCG guest on a
        // loaded 2-core machine may not fill even a shaped link: the ±15 % figures are measured
        // on a quiet machine and kept in benchmarks/notes/issue-14-guest-rates.md, not timed here.
        func within(_ kbps: Int?, _ bits: UInt64, _ what: String) {
            let want = Double(bits / 1000)
            let got = Double(kbps ?? 0)
            #expect(got <= 1.15 * want, "\(what) over a \(bits / 1_000_000) Mbit/s limit measured \(kbps ?? -1) kbit/s: above the cap")
            #expect(got >= 0.5 * want, "\(what) over a \(bits / 1_000_000) Mbit/s limit measured \(kbps ?? -1) kbit/s: far under it")
        }
        within(limited.throughputKbps, Self.limit, "eth1 receive")
        within(mixed.throughputKbps, Self.limit, "eth2 receive")
        within(mixed.uploadKbps, 20_000_000, "eth2 transmit")
        #expect((limited.uploadKbps ?? .max) <= 57_500, "eth1 transmit above its 50 Mbit/s limit +15 %")
        print(
            "e2e-rate \(arch.unameMachine) 1 vCPU 4 queues, \(Self.blob) bytes down, \(2 * Self.blob) up: unlimited eth0 rx \(free.throughputKbps) tx \(free.uploadKbps ?? -1) kbit/s; "
                + "eth1 (50/50 Mbit/s) rx \(limited.throughputKbps) tx \(limited.uploadKbps ?? -1) kbit/s; "
                + "eth2 (50/20 Mbit/s) rx \(mixed.throughputKbps) tx \(mixed.uploadKbps ?? -1) kbit/s")

        // Dual stack: what the guest's kernel holds is what the description says.
        let desc = try #require(r.guestDescription?.interfaces.first { $0.name == "eth0" })
        let eth0 = try #require(guest.nics["eth0"])
        #expect(desc.addresses.filter { !$0.address.isIPv4 }.count == 2 && desc.addresses.filter(\.address.isIPv4).count == 2)
        let addrs = try GuestState.addresses(eth0)
        let routes = try GuestState.routes(eth0)
        let neigh = try GuestState.neighbours(eth0)
        #expect(addrs == Set(desc.addresses.map(\.description)), "guest \(addrs.sorted()) description \(desc.addresses)")
        let wantRoutes = Set(desc.routes.map { "\($0.destination) via \($0.gateway?.description ?? "-")" })
        #expect(routes == wantRoutes, "guest \(routes.sorted()) description \(wantRoutes.sorted())")
        #expect(desc.routes.contains { $0.destination == "2001:db8:ff::/48" && $0.gateway == nil && $0.family == "inet6" })
        #expect(desc.routes.filter { $0.destination == "default" }.map(\.family).sorted() == ["inet", "inet6"])
        let wantNeigh = Set(desc.neighbours.map { "\($0.address) \($0.mac)" })
        #expect(neigh == wantNeigh, "guest \(neigh.sorted()) description \(wantNeigh.sorted()); json \(eth0.json)")
        #expect(desc.neighbours.contains { $0.address == IPAddress("2001:db8:14::1") })
        #expect(guest.pings["2001:db8:14::1"] != nil, "the peer over IPv6")
        #expect(guest.pings.keys.contains { $0.hasPrefix("203.0.113.") }, "the peer over IPv4")
        print("e2e-dualstack \(arch.unameMachine): guest ip -j addr/route/neigh equal the description; pings \(guest.pings)")
    }

    /// 1 NIC on 4 vCPUs with 4 queues, the guest booted with ipv6.disable=1: IPv4 still works.
    func runFourVCPUsWithoutIPv6(_ arch: Architecture) throws {
        let image = try #require(GuestImage.cached(arch))
        var o = EndToEnd.Options(architecture: arch, model: .tcfilter, nics: 1)
        o.vcpus = 4
        o.queues = 4
        o.dualStack = DualStackPlan()
        o.extraKernelArguments = ["ipv6.disable=1"]
        o.timeoutSeconds = 420
        let r = try EndToEnd.run(o, image: image)
        let guest = try #require(r.guest)
        try checkQueues(r, guest, queues: 4)
        #expect(r.results.first?.token == r.token, "IPv4 reached the peer")
        #expect(guest.console.contains { $0.contains("ipv6=no") })
        #expect(guest.console.contains { $0.contains("skipping IPv6 address 2001:db8:14::10/64") })
        #expect(guest.pings.keys.contains { $0.hasPrefix("203.0.113.") })
        print("e2e-queues \(arch.unameMachine) 4 vCPUs 4 queues, IPv6 disabled: IPv4 up, \(r.results.first?.throughputKbps ?? 0) kbit/s")
    }

    /// sysfs in the guest, the descriptors and QEMU's arguments all say `queues`.
    func checkQueues(_ r: EndToEnd.Report, _ guest: GuestReport, queues: Int) throws {
        for (name, nic) in guest.nics {
            #expect(nic.rxQueues == queues && nic.txQueues == queues, "\(name): rx-\(nic.rxQueues) tx-\(nic.txQueues) in sysfs")
        }
        #expect(guest.nics.count == r.nics)
        let devices = r.qemuArguments.filter { $0.hasPrefix("virtio-net-pci,") }
        let netdevs = r.qemuArguments.filter { $0.hasPrefix("tap,") }
        #expect(devices.count == r.nics && netdevs.count == r.nics)
        for d in devices { #expect(d.contains("vectors=\(2 * queues + 2),"), "\(d)") }
        for n in netdevs {
            let fields = n.split(separator: ",")
            #expect(fields.first { $0.hasPrefix("fds=") }?.split(separator: ":").count == queues, "\(n)")
            if let v = fields.first(where: { $0.hasPrefix("vhostfds=") }) { #expect(v.split(separator: ":").count == queues) }
        }
        print(
            "e2e-queues \(r.architecture.unameMachine): guest sysfs \(guest.nics.mapValues { "rx-\($0.rxQueues)/tx-\($0.txQueues)" }), \(devices)"
        )
    }

    /// macvtap: receive shaped through the sandbox's ifb, transmit on the macvtap itself; eth0 unlimited next to it.
    func runMacvtapLimits(_ arch: Architecture) throws {
        var o = EndToEnd.Options(architecture: arch, model: .macvtap, nics: 2)
        o.queues = 2
        o.rateLimits = ["eth1": RateLimit(receive: Self.limit, transmit: 20_000_000)]
        o.uploadBytes = 2 * Self.blob
        o.timeoutSeconds = 420
        let r = try EndToEnd.run(o, image: try #require(GuestImage.cached(arch)))
        #expect(r.results.count == 2)
        let free = r.results[0]
        let limited = r.results[1]
        for l in r.guest?.console ?? [] where l.contains("SANDNET-RESULT") { print("guest: \(l)") }
        for (what, kbps, bits) in [("receive", limited.throughputKbps, Self.limit), ("transmit", limited.uploadKbps ?? 0, 20_000_000)] {
            let want = Double(bits / 1000)
            #expect(
                abs(Double(kbps) - want) <= 0.15 * want,
                "macvtap eth1 \(what) over a \(bits / 1_000_000) Mbit/s limit measured \(kbps) kbit/s")
        }
        print(
            "e2e-rate \(arch.unameMachine) macvtap (ifb for receive): unlimited eth0 rx \(free.throughputKbps) tx \(free.uploadKbps ?? -1) kbit/s; "
                + "eth1 (50/20 Mbit/s) rx \(limited.throughputKbps) tx \(limited.uploadKbps ?? -1) kbit/s")
    }

    static let x86 = GuestImage.unavailableReason(.x86_64)
    static let arm = GuestImage.unavailableReason(.arm64)
    static let ifb = EndToEndIfbProbe.unavailableReason

    @Test(.enabled(if: x86 == nil, "\(x86 ?? "")"), .enabled(if: ifb == nil, "\(ifb ?? "")"))
    func x86_64MacvtapRateLimitsThroughTheSandboxesIfb() throws { try runMacvtapLimits(.x86_64) }

    @Test(.enabled(if: x86 == nil, "\(x86 ?? "")"))
    func x86_64FourQueuesOneVCPURateLimitAndDualStack() throws { try runLimitedDualStack(.x86_64) }

    @Test(.enabled(if: x86 == nil, "\(x86 ?? "")"))
    func x86_64FourQueuesFourVCPUsWithoutIPv6() throws { try runFourVCPUsWithoutIPv6(.x86_64) }

    @Test(.enabled(if: arm == nil, "\(arm ?? "")"))
    func aarch64FourQueuesOneVCPURateLimitAndDualStack() throws { try runLimitedDualStack(.arm64) }

    @Test(.enabled(if: arm == nil, "\(arm ?? "")"))
    func aarch64FourQueuesFourVCPUsWithoutIPv6() throws { try runFourVCPUsWithoutIPv6(.arm64) }
}

/// The guest's `ip -j` output, normalised to compare with the guest description.
enum GuestState {
    static func parse(_ nic: GuestNICEvidence, _ what: String) throws -> [[String: Any]] {
        guard let text = nic.json[what] else { return [] }
        return try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]], "\(what): \(text)")
    }
    /// Global addresses as PREFIX/LEN (the kernel's link-local ones are not in the description).
    static func addresses(_ nic: GuestNICEvidence) throws -> Set<String> {
        Set(
            try parse(nic, "addr").flatMap { ($0["addr_info"] as? [[String: Any]]) ?? [] }.compactMap { a in
                guard a["scope"] as? String == "global", let l = a["local"] as? String, let p = a["prefixlen"] as? Int else { return nil }
                return IPPrefix("\(l)/\(p)")?.description
            })
    }
    /// Routes the guest added (not the kernel's own), as "DEST via GW".
    static func routes(_ nic: GuestNICEvidence) throws -> Set<String> {
        Set(
            try (parse(nic, "route4") + parse(nic, "route6")).compactMap { r in
                guard r["protocol"] as? String != "kernel", let dst = r["dst"] as? String else { return nil }
                if (r["type"] as? String).map({ $0 != "unicast" }) == true { return nil }
                let d =
                    dst == "default"
                    ? dst : (IPPrefix(dst.contains("/") ? dst : dst + (dst.contains(":") ? "/128" : "/32"))?.description ?? dst)
                return "\(d) via \((r["gateway"] as? String).flatMap(IPAddress.init)?.description ?? "-")"
            })
    }
    /// Permanent neighbours as "ADDRESS MAC".
    static func neighbours(_ nic: GuestNICEvidence) throws -> Set<String> {
        Set(
            try parse(nic, "neigh").compactMap { n in
                guard let d = n["dst"] as? String, let m = n["lladdr"] as? String, let a = IPAddress(d), let mac = MACAddress(m) else {
                    return nil
                }
                return "\(a) \(mac)"
            })
    }
}

/// Whether this kernel makes vlan and ipvlan links (this host: neither; the kernel lab: both).
enum LowerDeviceProbe {
    static func unavailableReason(_ kind: LowerDeviceEndpoint) -> String? {
        guard TestEnvironment.isRoot else { return "needs root" }
        do {
            return try TestNamespace.with(prefix: "snlwp") { ns -> String? in
                try ns.ip("link", "add", "lw0", "type", "veth", "peer", "name", "lw1")
                switch kind {
                case .vlan: try ns.ip("link", "add", "link", "lw0", "name", "lw0v", "type", "vlan", "id", "100")
                case .ipvlan: try ns.ip("link", "add", "link", "lw0", "name", "lw0i", "type", "ipvlan", "mode", "l2")
                }
                return nil
            }
        } catch {
            return
                "this kernel cannot create \(kind) links (\(kind == .vlan ? "CONFIG_VLAN_8021Q, module 8021q" : "CONFIG_IPVLAN, module ipvlan")); the kernel lab runs this test"
        }
    }
}

/// A vlan endpoint and an ipvlan endpoint, made as their CNI plugins make them, reaching the
/// peer from a guest (4 queues on 1 vCPU, tcfilter), next to the CNI veth. Kernel lab only here.
/// They need QEMU, which the lab guest lacks: on a kernel with 802.1Q and ipvlan the lab checks
/// `vlan.tcfilter.peer-reach`, `vlan.macvtap.peer-reach` and `ipvlan.tcfilter.peer-reach`
/// (KernelConformance/PeerReachChecks) play the guest through the attach's queue descriptors.
@Suite(.serialized, .enabled(if: TestEnvironment.isRoot, "needs root: namespaces, CNI bridges and taps"))
struct LowerDeviceEndToEndTests {
    static let x86 = GuestImage.unavailableReason(.x86_64)
    static let vlan = LowerDeviceProbe.unavailableReason(.vlan)
    static let ipvlan = LowerDeviceProbe.unavailableReason(.ipvlan)

    func run(_ kind: LowerDeviceEndpoint) throws {
        var o = EndToEnd.Options(architecture: .x86_64, model: .tcfilter, nics: 1)
        o.queues = 4
        o.lowerDeviceEndpoint = kind
        o.timeoutSeconds = 420
        let r = try EndToEnd.run(o, image: try #require(GuestImage.cached(.x86_64)))
        #expect(r.results.count == 2)
        #expect(r.results.contains { $0.target == LowerDeviceEndpoint.peerAddress && $0.token == r.token }, "the peer over the \(kind)")
        #expect(r.guestDescription?.interfaces.count == 2)
        print(
            "e2e-\(kind) x86_64: \(r.results.map { "\($0.target) \($0.throughputKbps) kbit/s" }), kernel \(ProcessInfo.processInfo.operatingSystemVersionString)"
        )
    }

    @Test(.enabled(if: x86 == nil, "\(x86 ?? "")"), .enabled(if: vlan == nil, "\(vlan ?? "")"))
    func vlanEndpointReachesItsPeerFromAGuest() throws { try run(.vlan) }

    @Test(.enabled(if: x86 == nil, "\(x86 ?? "")"), .enabled(if: ipvlan == nil, "\(ipvlan ?? "")"))
    func ipvlanEndpointReachesItsPeerFromAGuest() throws { try run(.ipvlan) }
}

/// Whether this kernel makes ifb links (the macvtap receive limit goes through one).
enum EndToEndIfbProbe {
    static let unavailableReason: String? = {
        guard TestEnvironment.isRoot else { return "needs root" }
        do {
            try TestNamespace.with(prefix: "snifbe") { ns in _ = try ns.ip("link", "add", "ifbprobe", "type", "ifb") }
            return nil
        } catch {
            return "this kernel cannot create ifb links (CONFIG_IFB, module ifb); the kernel lab runs this test"
        }
    }()
}
