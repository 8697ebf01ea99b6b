import Foundation
import NetlinkSocket
import Synchronization

/// Throwaway namespaces, prepared with one `ip -batch` each and removed at exit.
enum Namespaces {
    /// Removed at exit even when a workload dies midway (see `removeAll`).
    private static let made = Mutex<[String]>([])
    static let prefix = "snbench-\(getpid())"

    static func create(_ tag: String) -> String {
        let name = "\(prefix)-\(tag)"
        do { _ = try NetworkNamespace.create(named: name) } catch { die("\(error)") }
        made.withLock { $0.append(name) }
        // No DAD probes or router solicitations on the links to come: the namespace then
        // holds still (no neighbour entries appearing mid-measurement).
        run([
            "ip", "netns", "exec", name, "sysctl", "-qw", "net.ipv6.conf.default.dad_transmits=0",
            "net.ipv6.conf.default.router_solicitations=0", "net.ipv6.conf.all.router_solicitations=0"
        ])
        return name
    }

    /// Waits until two scans a second apart count the same objects (at most 30 s).
    static func settle(_ ns: String, floor: String) {
        var last = ""
        for _ in 0..<30 {
            let c = field(run([floor, "w1", ns, "1"]).stdout, "counts") ?? ""
            if c == last { return }
            last = c
            usleep(1_000_000)
        }
        log("\(ns) still changing after 30 s: \(last)")
    }

    static func remove(_ name: String) {
        try? NetworkNamespace.delete(named: name)
        made.withLock { $0.removeAll { $0 == name } }
    }

    static func removeAll() {
        let names = made.withLock { names in
            defer { names = [] }
            return names
        }
        for n in names.reversed() { try? NetworkNamespace.delete(named: n) }
    }

    static func batch(_ ns: String, _ lines: [String]) {
        run(["ip", "-n", ns, "-batch", "-"], stdin: lines.joined(separator: "\n") + "\n")
    }
}

/// W1: `links` veth ends in one namespace (both ends of each pair), each up with an
/// IPv4 and an IPv6 address, an IPv6 route and a permanent neighbour.
func scanNamespace(links: Int, floor: String) -> String {
    let name = Namespaces.create("scan\(links)")
    var lines: [String] = []
    for p in 0..<(links / 2) { lines.append("link add sa\(p) type veth peer name sb\(p)") }
    for e in 0..<(links / 2 * 2) {
        let dev = e % 2 == 0 ? "sa\(e / 2)" : "sb\(e / 2)"
        let hex = String(e, radix: 16)
        lines.append("link set \(dev) up")
        // The MLD report on link-up leaves an ff02::16 NOARP entry that the neighbour GC (its
        // threshold counts every namespace on the host) removes a minute or so later: made
        // permanent, the namespace's counts hold for the whole run.
        lines.append("neigh replace ff02::16 dev \(dev) lladdr 33:33:00:00:00:16 nud permanent")
        lines.append("addr add 198.51.100.\(e % 254 + 1)/32 dev \(dev)")
        lines.append("addr add 2001:db8:1:\(hex)::1/64 dev \(dev) nodad")
        lines.append("route add 2001:db8:2:\(hex)::/64 dev \(dev)")
        lines.append(
            "neigh add 203.0.113.\(e % 254 + 1) lladdr 02:00:00:00:\(String(format: "%02x:%02x", e / 256, e % 256)) dev \(dev) nud permanent"
        )
    }
    let t = timed {
        Namespaces.batch(name, lines)
        Namespaces.settle(name, floor: floor)
    }
    log("prepared \(name): \(links) veth ends in \(String(format: "%.1f", t / 1e9)) s")
    return name
}

/// W2: a pod namespace with `count` veth endpoints e0..eN-1 (peers in a second namespace,
/// as CNI leaves them), each up with an IPv4 /32, an IPv6 /64 and an IPv6 route.
struct EndpointNamespace {
    let name: String
    let peer: String
    let count: Int

    init(count: Int, tag: String) {
        self.count = count
        peer = Namespaces.create("\(tag)-peer")
        name = Namespaces.create(tag)
        var lines: [String] = []
        for k in 0..<count {
            let hex = String(k, radix: 16)
            lines.append("link add e\(k) type veth peer name p\(k) netns \(peer)")
            lines.append("link set e\(k) up")
            lines.append("addr add 198.51.100.\(k % 254 + 1)/32 dev e\(k)")
            lines.append("addr add 2001:db8:1:\(hex)::1/64 dev e\(k) nodad")
            lines.append("route add 2001:db8:2:\(hex)::/64 dev e\(k)")
        }
        Namespaces.batch(name, lines)
    }

    func remove() {
        Namespaces.remove(name)
        Namespaces.remove(peer)
    }

    /// What is plumbed right now, counted with iproute2 (not with sandnet's own decoder).
    struct Census: Equatable, CustomStringConvertible {
        var devices = 0, ingressQdiscs = 0, redirects = 0, endpointsWithAddresses = 0
        var description: String {
            "devices=\(devices) ingress=\(ingressQdiscs) u32/mirred=\(redirects) endpoints-with-addresses=\(endpointsWithAddresses)"
        }
    }

    func census() -> Census {
        var c = Census()
        let links = jsonArray(run(["ip", "-n", name, "-j", "-d", "link", "show"]).stdout)
        c.devices =
            links.filter { (($0["linkinfo"] as? [String: Any])?["info_kind"] as? String).map { $0 == "tun" || $0 == "macvtap" } ?? false }
            .count
        c.ingressQdiscs =
            jsonArray(run(["tc", "-n", name, "-j", "qdisc", "show"]).stdout).filter { $0["kind"] as? String == "ingress" }.count
        let shows = links.compactMap { $0["ifname"] as? String }.map { "filter show dev \($0) ingress" }
        let filters = run(["tc", "-n", name, "-j", "-force", "-batch", "-"], stdin: shows.joined(separator: "\n") + "\n", check: false)
            .stdout
        c.redirects = filters.components(separatedBy: "\"kind\":\"mirred\"").count - 1
        let addrs = jsonArray(run(["ip", "-n", name, "-j", "addr", "show"]).stdout)
        c.endpointsWithAddresses =
            addrs.filter { a in
                (a["ifname"] as? String)?.hasPrefix("e") == true
                    && ((a["addr_info"] as? [[String: Any]]) ?? []).contains { ($0["local"] as? String)?.hasPrefix("198.51.100.") == true }
            }.count
        return c
    }

    /// Dies unless the census is `expected`: both sides must have done the same work.
    func expect(_ expected: Census, _ phase: String) {
        let c = census()
        if c != expected { die("\(phase) in \(name): expected \(expected), found \(c)") }
    }
    var bare: Census { Census(devices: 0, ingressQdiscs: 0, redirects: 0, endpointsWithAddresses: count) }
    var tcWired: Census { Census(devices: count, ingressQdiscs: 2 * count, redirects: 2 * count, endpointsWithAddresses: count) }
    var macvtapWired: Census { Census(devices: count, ingressQdiscs: 0, redirects: 0, endpointsWithAddresses: 0) }

    func macs() -> [String: String] {
        var out: [String: String] = [:]
        for l in jsonArray(run(["ip", "-n", name, "-j", "link", "show"]).stdout) {
            if let n = l["ifname"] as? String, let a = l["address"] as? String { out[n] = a }
        }
        return out
    }
}
