import Foundation

/// The CNI version sandnet speaks to plugins.
public let cniSpecVersion = "1.0.0"

/// A `bridge` network with `host-local` IPAM: the plugins create a Linux bridge in the
/// namespace they run in, a veth pair into the container's namespace, and allocate one
/// address per container from `subnet`.
public struct BridgeNetwork: Sendable, Equatable {
    /// Network name; host-local keeps its allocations under `dataDirectory/name`.
    public var name: String
    /// Bridge device created in the host namespace.
    public var bridge: String
    /// IPv4 or IPv6 subnet in CIDR form ("203.0.113.0/24").
    public var subnet: String
    /// Give the bridge the gateway address (the subnet's first address unless `gateway` is set).
    public var isGateway: Bool
    public var gateway: String?
    /// Where host-local stores allocations. Set one per run so nothing leaks into
    /// /var/lib/cni/networks and cleanup can be checked.
    public var dataDirectory: String
    /// Routes host-local adds in the container ("0.0.0.0/0" for a default route).
    public var routes: [String]
    public var mtu: Int?

    public init(
        name: String, bridge: String, subnet: String, dataDirectory: String, isGateway: Bool = true,
        gateway: String? = nil, routes: [String] = [], mtu: Int? = nil
    ) {
        self.name = name
        self.bridge = bridge
        self.subnet = subnet
        self.dataDirectory = dataDirectory
        self.isGateway = isGateway
        self.gateway = gateway
        self.routes = routes
        self.mtu = mtu
    }

    /// The network configuration object (CNI spec, "Network configuration").
    public var configuration: [String: Any] {
        var range: [String: Any] = ["subnet": subnet]
        if let gateway { range["gateway"] = gateway }
        var ipam: [String: Any] = ["type": "host-local", "ranges": [[range]], "dataDir": dataDirectory]
        if !routes.isEmpty { ipam["routes"] = routes.map { ["dst": $0] } }
        var config: [String: Any] = [
            "cniVersion": cniSpecVersion, "name": name, "type": "bridge", "bridge": bridge,
            "isGateway": isGateway, "ipMasq": false, "ipam": ipam
        ]
        if let mtu { config["mtu"] = mtu }
        return config
    }

    /// Addresses host-local currently holds for this network: the files named after an
    /// address in `dataDirectory/name` (it also keeps `lock` and `last_reserved_ip.N`).
    public func allocatedAddresses() -> [String] {
        let dir = (dataDirectory as NSString).appendingPathComponent(name)
        let files = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return files.filter { CIDRAddress.isAddress($0) }.sorted()
    }
}

/// "203.0.113.2/24" split and checked.
public struct CIDRAddress: Sendable, Equatable, CustomStringConvertible {
    public var address: String
    public var length: Int
    public var isIPv6: Bool { address.contains(":") }

    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let len = Int(parts[1]), Self.isAddress(String(parts[0])) else { return nil }
        address = String(parts[0])
        length = len
        guard len >= 0, len <= (isIPv6 ? 128 : 32) else { return nil }
    }

    public var description: String { "\(address)/\(length)" }

    public static func isAddress(_ s: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, s, &v4) == 1 || inet_pton(AF_INET6, s, &v6) == 1
    }
}
