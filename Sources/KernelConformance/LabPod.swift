import Foundation

/// A pod namespace the way CNI plugins leave it, with its "host" side in a second namespace:
/// parents of macvlan/ipvlan/vlan endpoints live there and the endpoints are moved into the
/// pod, as the plugins do (the lab's copy of the sandbox tests' PodFixture, made with `ip`).
public final class LabPod {
    public let pod: LabNamespace
    public let host: LabNamespace

    init() throws {
        host = try LabNamespace(prefix: "snlh")
        pod = try LabNamespace(prefix: "snlp")
        try host.ip("link", "add", "uplink", "type", "veth", "peer", "name", "uplinkp")
        try host.ip("link", "set", "uplink", "up")
        try host.ip("link", "set", "uplinkp", "up")
    }

    /// Makes a pod, runs `body`, and always deletes both namespaces (their deinit).
    public static func with<T>(_ body: (LabPod) throws -> T) throws -> T {
        let p = try LabPod()
        return try body(p)
    }

    public enum EndpointKind: String, CaseIterable, Sendable {
        case veth, macvlan, ipvlan, vlan
    }

    /// Adds endpoint `name` of `kind` to the pod (made in the host namespace and moved in),
    /// with an IPv4 and an IPv6 address and a default route, as CNI IPAM sets them.
    public func addEndpoint(_ name: String, _ kind: EndpointKind, number: Int = 0) throws {
        let tmp = "t\(number)\(kind.rawValue.prefix(4))"
        switch kind {
        case .veth:
            try host.ip("link", "add", tmp, "type", "veth", "peer", "name", "h\(tmp)")
            try host.ip("link", "set", "h\(tmp)", "up")
        case .macvlan: try host.ip("link", "add", "link", "uplink", "name", tmp, "type", "macvlan", "mode", "bridge")
        case .ipvlan: try host.ip("link", "add", "link", "uplink", "name", tmp, "type", "ipvlan", "mode", "l2")
        case .vlan: try host.ip("link", "add", "link", "uplink", "name", tmp, "type", "vlan", "id", "\(100 + number)")
        }
        try host.ip("link", "set", tmp, "netns", pod.name)
        try pod.ip("link", "set", tmp, "name", name)
        try pod.ip("link", "set", name, "up")
        try pod.ip("addr", "add", "198.51.100.\(32 * number + 10)/27", "dev", name)
        try pod.ip("addr", "add", "2001:db8:\(number)::2/64", "dev", name, "nodad")
        if number == 0 { try pod.ip("route", "add", "default", "via", "198.51.100.1", "dev", name) }
    }

    /// The pod as `ip -j -d` and `tc -j -d` see it (`NamespaceSnapshot`): equal before an
    /// attach and after its detach. Duplicate address detection is slow under TCG: 10 s.
    public func snapshot() throws -> String { try NamespaceSnapshot.take(namespace: pod.name, settle: .seconds(10)) }

    /// The first line where two snapshots differ, for a failure that says what changed.
    public static func firstDifference(_ a: String, _ b: String) -> String { NamespaceSnapshot.firstDifference(a, b) }
}
