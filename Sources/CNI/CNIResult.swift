import Foundation

/// A plugin's successful ADD result (CNI spec 1.0.0, "Success"), validated on parse.
public struct CNIResult: Sendable, Equatable {
    public struct Interface: Sendable, Equatable {
        public var name: String
        public var mac: String?
        public var mtu: Int?
        /// The namespace path for interfaces inside the container; nil for host-side ones.
        public var sandbox: String?
    }
    public struct IPConfig: Sendable, Equatable {
        public var address: CIDRAddress
        public var gateway: String?
        /// Index into `interfaces`, when the plugin says which interface holds the address.
        public var interface: Int?
    }
    public struct Route: Sendable, Equatable {
        public var destination: CIDRAddress
        public var gateway: String?
    }
    public struct DNS: Sendable, Equatable {
        public var nameservers: [String] = []
        public var domain: String?
        public var search: [String] = []
        public var options: [String] = []
    }

    public var cniVersion: String
    public var interfaces: [Interface]
    public var ips: [IPConfig]
    public var routes: [Route]
    public var dns: DNS
    /// The result exactly as the plugin printed it: CHECK and DEL pass it back as `prevResult`.
    public var raw: Data

    /// The container-side interface called `name` (the one with a sandbox path).
    public func containerInterface(named name: String) -> Interface? {
        interfaces.first { $0.name == name && $0.sandbox != nil }
    }

    /// Addresses on the interface called `name`.
    public func addresses(on name: String) -> [CIDRAddress] {
        ips.filter { ip in ip.interface.map { interfaces[$0].name == name } ?? false }.map(\.address)
    }

    /// Parses and validates `data`; `why` in the thrown error names the broken field.
    public static func parse(_ data: Data, expectedVersion: String = cniSpecVersion) throws -> CNIResult {
        func bad(_ why: String) -> ResultProblem { ResultProblem(reason: why) }
        guard let object = try? JSONSerialization.jsonObject(with: data), let top = object as? [String: Any] else {
            throw bad("not a JSON object: \(String(decoding: data.prefix(200), as: UTF8.self))")
        }
        guard let version = top["cniVersion"] as? String else { throw bad("cniVersion is missing") }
        guard version == expectedVersion else { throw bad("cniVersion is \(version), expected \(expectedVersion)") }

        var interfaces: [Interface] = []
        for (i, item) in ((top["interfaces"] as? [Any]) ?? []).enumerated() {
            guard let o = item as? [String: Any], let name = o["name"] as? String, !name.isEmpty else {
                throw bad("interfaces[\(i)] has no name")
            }
            let mac = o["mac"] as? String
            if let mac, !isMAC(mac) { throw bad("interfaces[\(i)].mac \"\(mac)\" is not a MAC address") }
            interfaces.append(Interface(name: name, mac: mac, mtu: o["mtu"] as? Int, sandbox: o["sandbox"] as? String))
        }
        var ips: [IPConfig] = []
        for (i, item) in ((top["ips"] as? [Any]) ?? []).enumerated() {
            guard let o = item as? [String: Any], let text = o["address"] as? String else { throw bad("ips[\(i)] has no address") }
            guard let prefix = CIDRAddress(text) else { throw bad("ips[\(i)].address \"\(text)\" is not an address with prefix") }
            let gateway = o["gateway"] as? String
            if let gateway, !CIDRAddress.isAddress(gateway) { throw bad("ips[\(i)].gateway \"\(gateway)\" is not an address") }
            let index = o["interface"] as? Int
            if let index, !interfaces.indices.contains(index) {
                throw bad("ips[\(i)].interface \(index) is not an index into interfaces (\(interfaces.count) given)")
            }
            ips.append(IPConfig(address: prefix, gateway: gateway, interface: index))
        }
        var routes: [Route] = []
        for (i, item) in ((top["routes"] as? [Any]) ?? []).enumerated() {
            guard let o = item as? [String: Any], let text = o["dst"] as? String, let dst = CIDRAddress(text) else {
                throw bad("routes[\(i)].dst is missing or not a prefix")
            }
            let gw = o["gw"] as? String
            if let gw, !CIDRAddress.isAddress(gw) { throw bad("routes[\(i)].gw \"\(gw)\" is not an address") }
            routes.append(Route(destination: dst, gateway: gw))
        }
        var dns = DNS()
        if let o = top["dns"] as? [String: Any] {
            dns.nameservers = o["nameservers"] as? [String] ?? []
            dns.domain = o["domain"] as? String
            dns.search = o["search"] as? [String] ?? []
            dns.options = o["options"] as? [String] ?? []
        }
        return CNIResult(cniVersion: version, interfaces: interfaces, ips: ips, routes: routes, dns: dns, raw: data)
    }

    struct ResultProblem: Error { var reason: String }

    static func isMAC(_ s: String) -> Bool {
        let parts = s.split(separator: ":", omittingEmptySubsequences: false)
        return parts.count == 6 && parts.allSatisfy { $0.count == 2 && $0.allSatisfy(\.isHexDigit) }
    }
}
