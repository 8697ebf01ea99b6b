import Foundation

/// The result tc-redirect-tap returns, built the same way from the previous plugin's: its
/// interfaces and IPs kept, then appended the tap (in the container namespace, with the
/// tap's MAC), a pseudo-interface of the same name whose sandbox is the container id (the
/// VM) carrying the guest MAC, and a copy of each of the redirected interface's IPs, of
/// every family, pointing at the pseudo-interface.
public struct ChainedResult {
    public var object: [String: Any]

    /// Index of `interface` in `prevResult`'s interfaces with sandbox `netns`; nil when absent.
    public static func redirectedIndex(in prev: [String: Any], interface: String, netns: String) -> Int? {
        let interfaces = prev["interfaces"] as? [[String: Any]] ?? []
        return interfaces.firstIndex { $0["name"] as? String == interface && $0["sandbox"] as? String == netns }
    }

    public init(
        previous prev: [String: Any], cniVersion: String, interface: String, netns: String, containerID: String,
        tap: String, tapMAC: String, guestMAC: String
    ) throws {
        guard let redirected = Self.redirectedIndex(in: prev, interface: interface, netns: netns) else {
            throw CNIFailure(
                .invalidNetworkConfig,
                "prevResult has no interface \(interface) with sandbox \(netns): sandnet-cni wires the interface the previous plugin made",
                details: "put sandnet-cni after ptp, bridge or macvlan in the plugin list")
        }
        var interfaces = prev["interfaces"] as? [[String: Any]] ?? []
        var ips = prev["ips"] as? [[String: Any]] ?? []
        interfaces.append(["name": tap, "mac": tapMAC, "sandbox": netns])
        interfaces.append(["name": tap, "mac": guestMAC, "sandbox": containerID])
        let vm = interfaces.count - 1
        for ip in ips where (ip["interface"] as? Int) == redirected {
            var copy = ip
            copy["interface"] = vm
            if CNIVersions.ipsCarryVersion(cniVersion), copy["version"] == nil {
                copy["version"] = (ip["address"] as? String ?? "").contains(":") ? "6" : "4"
            }
            if !CNIVersions.ipsCarryVersion(cniVersion) { copy["version"] = nil }
            ips.append(copy)
        }
        var out = prev
        out["cniVersion"] = cniVersion
        out["interfaces"] = interfaces
        out["ips"] = ips
        object = out
    }

    public var json: Data {
        (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
    }

    /// The tap and pseudo-interface an ADD appended, found as tc-redirect-tap's consumers find
    /// them: the one interface whose sandbox is the container id, and the interface of the
    /// same name elsewhere. nil unless there is exactly one of each.
    public static func tapPair(in result: [String: Any], containerID: String) -> (tap: [String: Any], vm: [String: Any])? {
        let interfaces = result["interfaces"] as? [[String: Any]] ?? []
        let vms = interfaces.filter { $0["sandbox"] as? String == containerID }
        guard vms.count == 1, let name = vms[0]["name"] as? String else { return nil }
        let taps = interfaces.filter { $0["name"] as? String == name && $0["sandbox"] as? String != containerID }
        guard taps.count == 1 else { return nil }
        return (taps[0], vms[0])
    }
}
