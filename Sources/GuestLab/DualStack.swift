import Foundation
import NetlinkSocket

/// The dual-stack pod of issue 14: on the pod's first network, besides CNI's IPv4 address
/// and default route, a second IPv4 address, two IPv6 addresses, an IPv6 route without a
/// gateway (an interface route), an IPv6 default route and a permanent IPv6 neighbour for
/// the peer, which gets the IPv6 gateway address. Made the way a CNI plugin leaves them.
public struct DualStackPlan: Sendable, Equatable {
    public var secondIPv4 = "203.0.113.100/25" // inside the first network with 1-2 NICs (/24) and 3-4 (/25)
    public var ipv6 = ["2001:db8:14::10/64", "2001:db8:15::10/64"]
    public var interfaceRoute6 = "2001:db8:ff::/48"
    public var peerIPv6 = "2001:db8:14::1"
    public init() {}
}

extension Lab {
    /// Applies `plan` to eth0 of the pod and the peer. The namespaces go whole at teardown.
    public func addDualStack(_ plan: DualStackPlan = DualStackPlan()) throws {
        let pod = ["ip", "-n", podNamespace]
        let peer = ["ip", "-n", peerNamespace]
        try TestCommand.run(peer + ["-6", "addr", "add", "\(plan.peerIPv6)/64", "dev", "eth0", "nodad"])
        // Replies to the pod's second IPv6 subnet go back the way they came.
        try TestCommand.run(peer + ["-6", "route", "add", "2001:db8:15::/64", "dev", "eth0"])
        let peerLink = try JSONSerialization.jsonObject(with: Data(try TestCommand.run(peer + ["-j", "link", "show", "eth0"]).utf8))
        guard let peerMAC = (peerLink as? [[String: Any]])?.first?["address"] as? String else {
            throw LabError.command("cannot read the peer's eth0 MAC")
        }
        try TestCommand.run(pod + ["addr", "add", plan.secondIPv4, "dev", "eth0"])
        for a in plan.ipv6 { try TestCommand.run(pod + ["-6", "addr", "add", a, "dev", "eth0", "nodad"]) }
        try TestCommand.run(pod + ["-6", "route", "add", plan.interfaceRoute6, "dev", "eth0"])
        try TestCommand.run(pod + ["-6", "route", "add", "default", "via", plan.peerIPv6, "dev", "eth0"])
        try TestCommand.run(pod + ["-6", "neigh", "add", plan.peerIPv6, "lladdr", peerMAC, "dev", "eth0", "nud", "permanent"])
    }
}
