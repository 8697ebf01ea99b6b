import Foundation
import ProcessRunner
import TestSupport
import Testing

/// Runs a conflist the way a runtime does (CNI spec, "Network configuration lists"): ADD in
/// order with each result as the next plugin's prevResult, CHECK in order and DEL in reverse
/// with the cached result, every plugin run inside a throwaway "host" namespace.
/// The plugins: Debian's ptp and host-local, and the built sandnet-cni, from one CNI_PATH.
final class ChainRig {
    let host: TestNamespace
    let pod: TestNamespace
    let directory: String
    let network: String
    var containerID: String
    var plugins: [[String: Any]]
    var cniVersion = "1.0.0"

    var pluginDirectory: String { "\(directory)/bin" }
    var ipamDirectory: String { "\(directory)/ipam" }
    var stateDirectory: String { "\(directory)/state" }
    var netnsPath: String { pod.namespace.path }

    static let binary = builtExecutable("sandnet-cni")
    static func ranges(ipv6: Bool) -> [[[String: Any]]] {
        [[["subnet": "203.0.113.0/24"]]] + (ipv6 ? [[["subnet": "2001:db8:16::/64"]]] : [])
    }

    init(host: TestNamespace, pod: TestNamespace, sandnet: [String: Any] = [:], ipv6: Bool = true, main: String = "ptp") throws {
        self.host = host
        self.pod = pod
        directory = NSTemporaryDirectory() + "sandnet-cni-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        network = "sn-cni-\(getpid())"
        containerID = "ctr-\(pod.name)"
        plugins = []
        let fm = FileManager.default
        try fm.createDirectory(atPath: pluginDirectory, withIntermediateDirectories: true)
        for p in ["ptp", "bridge", "host-local", "loopback"] {
            try fm.createSymbolicLink(atPath: "\(pluginDirectory)/\(p)", withDestinationPath: "/usr/lib/cni/\(p)")
        }
        try fm.createSymbolicLink(atPath: "\(pluginDirectory)/sandnet-cni", withDestinationPath: Self.binary)
        try host.ip("link", "set", "lo", "up")
        var sn: [String: Any] = ["type": "sandnet-cni", "stateDir": stateDirectory]
        sn.merge(sandnet) { $1 }
        var first: [String: Any] = ["type": main, "ipMasq": false]
        if main == "bridge" {
            first["bridge"] = "sn-cnibr0"
            first["isGateway"] = true
        }
        plugins = [
            first.merging([
                "ipam": [
                    "type": "host-local", "dataDir": ipamDirectory, "ranges": Self.ranges(ipv6: ipv6),
                    "routes": [["dst": "0.0.0.0/0"]] + (ipv6 ? [["dst": "::/0"]] : [])
                ] as [String: Any]
            ]) { $1 },
            sn
        ]
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    /// The conflist itself, as a runtime would read it from /etc/cni/net.d.
    var conflist: [String: Any] { ["cniVersion": cniVersion, "name": network, "plugins": plugins] }

    struct Run {
        var status: Int32
        var stdout: Data
        var stderr: String
        var object: [String: Any]? { (try? JSONSerialization.jsonObject(with: stdout)) as? [String: Any] }
    }

    func environment(_ command: String, interface: String = "eth0", netns: String? = nil) -> [String: String] {
        [
            "CNI_COMMAND": command, "CNI_CONTAINERID": containerID, "CNI_NETNS": netns ?? netnsPath, "CNI_IFNAME": interface,
            "CNI_PATH": pluginDirectory, "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        ]
    }

    /// The configuration one plugin of the list gets: its object plus the list's name and version.
    func configuration(_ plugin: [String: Any], prevResult: [String: Any]?) -> [String: Any] {
        var c = plugin
        c["cniVersion"] = cniVersion
        c["name"] = network
        if let prevResult { c["prevResult"] = prevResult }
        return c
    }

    func invoke(
        _ command: String, _ plugin: [String: Any], prevResult: [String: Any]?, netns: String? = nil, interface: String = "eth0",
        extra: [String: Any] = [:]
    ) throws -> Run {
        let type = plugin["type"] as? String ?? "?"
        let stdin = try JSONSerialization.data(withJSONObject: configuration(plugin, prevResult: prevResult).merging(extra) { $1 })
        let out = try ProcessRunner.run(
            ["ip", "netns", "exec", host.name, "\(pluginDirectory)/\(type)"], input: Array(stdin),
            environment: .exactly(environment(command, interface: interface, netns: netns)), timeout: .seconds(60))
        return Run(status: out.termination.shellStatus, stdout: Data(out.stdout), stderr: out.stderrText)
    }

    /// ADD through the list; the last plugin's result.
    func add() throws -> [String: Any] {
        var prev: [String: Any]?
        for p in plugins {
            let r = try invoke("ADD", p, prevResult: prev)
            guard r.status == 0, let o = r.object else {
                throw TestFailure("\(p["type"] ?? "?") ADD failed (\(r.status)): \(String(decoding: r.stdout, as: UTF8.self)) \(r.stderr)")
            }
            prev = o
        }
        return try #require(prev)
    }

    /// CHECK through the list; the first failure's error object, nil when every plugin passed.
    func check(_ result: [String: Any]) throws -> [String: Any]? {
        for p in plugins {
            let r = try invoke("CHECK", p, prevResult: result)
            if r.status != 0 { return r.object ?? ["msg": String(decoding: r.stdout, as: UTF8.self) + r.stderr] }
        }
        return nil
    }

    /// DEL through the list in reverse; throws on the first failure.
    func delete(_ result: [String: Any]?) throws {
        for p in plugins.reversed() {
            let r = try invoke("DEL", p, prevResult: result)
            guard r.status == 0 else {
                throw TestFailure("\(p["type"] ?? "?") DEL failed (\(r.status)): \(String(decoding: r.stdout, as: UTF8.self)) \(r.stderr)")
            }
        }
    }

    /// Addresses host-local holds: the files named after an address in its network directory.
    func allocations() -> [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: "\(ipamDirectory)/\(network)")) ?? []
        return files.filter { $0.contains(".") || $0.contains(":") }.filter { !$0.hasPrefix("last_reserved_ip") }.sorted()
    }

    /// Journals sandnet keeps for this rig's attachments.
    func journals() -> [String] { (try? FileManager.default.contentsOfDirectory(atPath: "\(stateDirectory)/sandboxes")) ?? [] }

    /// Everything of both namespaces that a plugin could change, as `ip -j`/`tc -j` print it.
    /// Waits (bounded) until no IPv6 address of either namespace is still tentative: DAD
    /// finishing between two snapshots is the kernel's change, not a plugin's.
    func snapshot() throws -> [String: String] {
        for _ in 0..<100 {
            let addrs = try [host, pod].map { try TestEnvironment.sh(["ip", "-n", $0.name, "-j", "addr", "show"]) }
            if !addrs.contains(where: { $0.contains("\"tentative\"") }) { break }
            usleep(100_000)
        }
        var s: [String: String] = [:]
        for ns in [host, pod] {
            for (key, argv) in [
                ("link", ["ip", "-n", ns.name, "-j", "-d", "link", "show"]),
                ("addr", ["ip", "-n", ns.name, "-j", "addr", "show"]),
                ("route4", ["ip", "-n", ns.name, "-j", "-4", "route", "show", "table", "all"]),
                ("route6", ["ip", "-n", ns.name, "-j", "-6", "route", "show", "table", "all"]),
                ("neigh", ["ip", "-n", ns.name, "-j", "neigh", "show", "nud", "permanent"]),
                ("qdisc", ["tc", "-n", ns.name, "-j", "qdisc", "show"])
            ] {
                s["\(ns === host ? "host" : "pod") \(key)"] = try TestEnvironment.sh(argv)
            }
        }
        return s
    }

    static func with(sandnet: [String: Any] = [:], ipv6: Bool = true, main: String = "ptp", _ body: (ChainRig) throws -> Void) throws {
        try TestNamespace.with(prefix: "sn-cnich") { host in
            try TestNamespace.with(prefix: "sn-cnicp") { pod in
                let rig = try ChainRig(host: host, pod: pod, sandnet: sandnet, ipv6: ipv6, main: main)
                try body(rig)
            }
        }
    }
}

/// A built executable of this package next to the test bundle.
func builtExecutable(_ name: String) -> String {
    let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for candidate in [dir, dir.deletingLastPathComponent()] {
        let p = candidate.appendingPathComponent(name).path
        if FileManager.default.isExecutableFile(atPath: p) { return p }
    }
    return dir.appendingPathComponent(name).path
}
