import Foundation

/// A second pod endpoint the way the CNI vlan and ipvlan plugins make one: a vlan (id 100)
/// or an l2 ipvlan on a master in the host namespace, a veth whose other end is on the
/// first network's bridge, moved into the pod as eth<N>. The peer answers on that path
/// (a vlan of its own on its eth0, or one more address on it), on 198.51.100.0/24.
public enum LowerDeviceEndpoint: String, Sendable, CaseIterable {
    case vlan, ipvlan

    public static let podAddress = "198.51.100.2/24"
    public static let peerAddress = "198.51.100.1"
}

extension Lab {
    /// Makes the endpoint `name` in the pod; returns the peer's "ADDRESS:PORT" to probe over it.
    /// Everything made lives in the lab's namespaces and goes with them at teardown.
    public func addLowerDeviceEndpoint(_ kind: LowerDeviceEndpoint, name: String) throws -> String {
        guard networks.count <= 2 else {
            throw LabError.invalidArgument("a vlan/ipvlan endpoint needs a lab of 1 or 2 networks (198.51.100.0/24)")
        }
        let host = ["ip", "-n", hostNamespace]
        let master = "sn-lw\(id.suffix(4))"
        try TestCommand.run(host + ["link", "add", master, "type", "veth", "peer", "name", master + "b"])
        try TestCommand.run(host + ["link", "set", master + "b", "master", networks[0].bridge, "up"])
        try TestCommand.run(host + ["link", "set", master, "up"])
        let tmp = "sn-lw\(kind.rawValue.prefix(2))"
        switch kind {
        case .vlan:
            try TestCommand.run(host + ["link", "add", "link", master, "name", tmp, "type", "vlan", "id", "100"])
            let peer = ["ip", "-n", peerNamespace]
            try TestCommand.run(peer + ["link", "add", "link", "eth0", "name", "eth0.100", "type", "vlan", "id", "100"])
            try TestCommand.run(peer + ["addr", "add", "\(LowerDeviceEndpoint.peerAddress)/24", "dev", "eth0.100"])
            try TestCommand.run(peer + ["link", "set", "eth0.100", "up"])
        case .ipvlan:
            try TestCommand.run(host + ["link", "add", "link", master, "name", tmp, "type", "ipvlan", "mode", "l2"])
            try TestCommand.run(["ip", "-n", peerNamespace, "addr", "add", "\(LowerDeviceEndpoint.peerAddress)/24", "dev", "eth0"])
        }
        try TestCommand.run(host + ["link", "set", tmp, "netns", podNamespace])
        let pod = ["ip", "-n", podNamespace]
        try TestCommand.run(pod + ["link", "set", tmp, "name", name])
        try TestCommand.run(pod + ["addr", "add", LowerDeviceEndpoint.podAddress, "dev", name])
        try TestCommand.run(pod + ["link", "set", name, "up"])
        return "\(LowerDeviceEndpoint.peerAddress):\(Self.peerPort)"
    }
}
