import Foundation
import KernelConformance
import NetlinkSocket
import TestSupport
import Testing

/// A pod namespace the way CNI plugins leave it, with its "host" side in a second
/// namespace: parents of macvlan/ipvlan/vlan/vxlan endpoints live there and the
/// endpoints are moved into the pod, as the plugins do.
final class PodFixture {
    let pod: TestNamespace
    let host: TestNamespace

    init() throws {
        host = try TestNamespace(prefix: "snh")
        do { pod = try TestNamespace(prefix: "snp") } catch {
            host.remove()
            throw error
        }
        do {
            try host.ip("link", "add", "uplink", "type", "veth", "peer", "name", "uplinkp")
            try host.ip("link", "set", "uplink", "up")
            try host.ip("link", "set", "uplinkp", "up")
        } catch {
            remove()
            throw error
        }
    }

    func remove() {
        pod.remove()
        host.remove()
    }

    static func with<T>(_ body: (PodFixture) throws -> T) throws -> T {
        let f = try PodFixture()
        defer { f.remove() }
        return try body(f)
    }

    /// A pod with one configured veth endpoint, `eth0`: where most tests start.
    static func withEndpoint<T>(_ body: (PodFixture) throws -> T) throws -> T {
        try with { f in
            try f.addEndpoint("eth0", .veth, number: 0)
            try f.configure("eth0", number: 0)
            return try body(f)
        }
    }

    enum EndpointKind: String, CaseIterable, CustomStringConvertible {
        case veth, macvlan, ipvlan, vlan, vxlan
        var description: String { rawValue }
    }

    /// Adds endpoint `name` of `kind` to the pod (created in the host namespace and moved in).
    func addEndpoint(_ name: String, _ kind: EndpointKind, number: Int) throws {
        let tmp = "t\(number)\(kind.rawValue.prefix(4))"
        switch kind {
        case .veth:
            try host.ip("link", "add", tmp, "type", "veth", "peer", "name", "h\(tmp)")
            try host.ip("link", "set", "h\(tmp)", "up")
        case .macvlan: try host.ip("link", "add", "link", "uplink", "name", tmp, "type", "macvlan", "mode", "bridge")
        case .ipvlan: try host.ip("link", "add", "link", "uplink", "name", tmp, "type", "ipvlan", "mode", "l2")
        case .vlan: try host.ip("link", "add", "link", "uplink", "name", tmp, "type", "vlan", "id", "\(100 + number)")
        case .vxlan:
            // A vxlan device is made in the pod itself: its UDP socket lives where it is created.
            try pod.ip("link", "add", name, "type", "vxlan", "id", "\(4200 + number)", "dstport", "4789", "nolearning")
            try pod.ip("link", "set", name, "up")
            return
        }
        try host.ip("link", "set", tmp, "netns", pod.name)
        try pod.ip("link", "set", tmp, "name", name)
        try pod.ip("link", "set", name, "up")
    }

    /// Addresses, routes and a permanent neighbour, IPv4 and IPv6, the way CNI IPAM sets them.
    func configure(_ name: String, number: Int, ipv4: Bool = true, ipv6: Bool = true) throws {
        if ipv4 {
            // A /27 per endpoint: two links in one subnet would share routes whose order is insertion order.
            try pod.ip("addr", "add", "198.51.100.\(32 * number + 10)/27", "dev", name)
            try pod.ip("route", "add", "203.0.113.\(number * 16)/28", "dev", name)
            if number == 0 {
                try pod.ip("route", "add", "default", "via", "198.51.100.1", "dev", name, "mtu", "1400")
                try pod.ip("neigh", "add", "198.51.100.1", "lladdr", "02:00:00:00:00:fe", "dev", name, "nud", "permanent")
            }
        }
        if ipv6 {
            try pod.ip("addr", "add", "2001:db8:\(number)::2/64", "dev", name, "nodad")
            try pod.ip("-6", "route", "add", "2001:db8:ff\(number)::/48", "via", "2001:db8:\(number)::1", "dev", name)
        }
    }

    /// Everything `ip -j -d` and `tc -j -d` say about the pod (`NamespaceSnapshot`, shared
    /// with the kernel lab): links, addresses, routes of every table, rules, permanent
    /// neighbours, qdiscs and ingress filters.
    func snapshot() throws -> String {
        try NamespaceSnapshot.take(namespace: pod.name) { print("PodFixture \($0)") }
    }
}

/// A private state directory per test, removed afterwards.
final class StateDirectory {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "sandnet-state-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// First line that differs, for readable failures.
func firstDifference(_ a: String, _ b: String) -> String { NamespaceSnapshot.firstDifference(a, b) }

/// Which endpoint kinds this kernel can make, found by making each once in a throwaway pod.
enum KindProbe {
    static let available: Set<PodFixture.EndpointKind> = {
        guard TestEnvironment.isRoot else { return [] }
        var out: Set<PodFixture.EndpointKind> = []
        for k in PodFixture.EndpointKind.allCases {
            if (try? PodFixture.with { try $0.addEndpoint("probe0", k, number: 0) }) != nil { out.insert(k) }
        }
        return out
    }()
    static func option(_ k: PodFixture.EndpointKind) -> String {
        switch k {
        case .veth: return "CONFIG_VETH"
        case .macvlan: return "CONFIG_MACVLAN"
        case .ipvlan: return "CONFIG_IPVLAN"
        case .vlan: return "CONFIG_VLAN_8021Q"
        case .vxlan: return "CONFIG_VXLAN"
        }
    }
    static func has(_ k: PodFixture.EndpointKind) -> Bool { available.contains(k) }
    static func reason(_ k: PodFixture.EndpointKind) -> Comment {
        TestEnvironment.isRoot ? "this kernel cannot create \(k) links (\(option(k)) is not set)" : "needs root: creates network namespaces"
    }
}

/// Every suite that builds namespaces runs inside this one, one at a time: they share
/// device names (sn1t0...).
@Suite(.serialized) enum SandboxIntegration {}
