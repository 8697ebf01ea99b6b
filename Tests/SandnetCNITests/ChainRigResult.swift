import Foundation
import SandboxNetwork
import SandnetCore
import Testing

/// What a VMM takes from the chain's result, the way a tc-redirect-tap consumer does: the
/// tap by name, and the pseudo-interface (sandbox: the container id) with its MAC and IPs.
enum ChainRigResult {
    static func vmIndex(_ result: [String: Any], containerID: String) -> Int? {
        (result["interfaces"] as? [[String: Any]])?.firstIndex { $0["sandbox"] as? String == containerID }
    }

    static func tapName(_ result: [String: Any], containerID: String) -> String? {
        vmIndex(result, containerID: containerID).flatMap { (result["interfaces"] as? [[String: Any]])?[$0]["name"] as? String }
    }

    /// The guest description built from the result alone: the pseudo-interface's MAC, its
    /// addresses, and the result's routes via the gateway of their family.
    static func guestDescription(_ result: [String: Any], containerID: String) throws -> GuestDescription {
        let vm = try #require(vmIndex(result, containerID: containerID))
        let interfaces = try #require(result["interfaces"] as? [[String: Any]])
        let macText = try #require(interfaces[vm]["mac"] as? String)
        let mac = try #require(MACAddress(macText))
        let ips = (result["ips"] as? [[String: Any]] ?? []).filter { $0["interface"] as? Int == vm }
        let addresses = ips.compactMap { ($0["address"] as? String).flatMap { IPPrefix($0) } }
        #expect(addresses.count == ips.count)
        let gateways = Dictionary(
            ips.compactMap { ip in (ip["gateway"] as? String).map { ($0.contains(":") ? "inet6" : "inet", $0) } },
            uniquingKeysWith: { a, _ in a })
        let routes = (result["routes"] as? [[String: Any]] ?? []).compactMap { r -> GuestRoute? in
            guard let dst = r["dst"] as? String else { return nil }
            let family = dst.contains(":") ? "inet6" : "inet"
            let gw = (r["gw"] as? String) ?? gateways[family]
            return GuestRoute(
                destination: dst.hasSuffix("/0") ? "default" : dst, family: family, gateway: gw.flatMap { IPAddress($0) },
                scope: "universe")
        }
        return GuestDescription(
            sandbox: containerID,
            interfaces: [
                GuestInterface(name: "eth0", mac: mac, mtu: 1500, addresses: addresses, routes: routes, neighbours: [], model: "tcfilter")
            ])
    }
}
