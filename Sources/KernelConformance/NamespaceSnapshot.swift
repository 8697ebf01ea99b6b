import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Everything `ip -j -d` and `tc -j -d` say about a namespace, normalised only by sorting keys:
/// equal before an attach and after its detach. One definition for the host tests and the
/// kernel lab, so that both compare the same things. Lists keep the kernel's order
/// (addresses in `ip addr` order, primary before secondary): restoring means that order too.
public enum NamespaceSnapshot {
    /// The snapshot of namespace `name` (as `ip -n` names it). IPv6 addresses are "tentative"
    /// until duplicate address detection ends (about a second, seconds under TCG): it waits
    /// up to `settle` for them, then compares as it is, telling `stillTentative` (an address
    /// whose DAD failed stays tentative on both sides, which is no failure by itself).
    public static func take(
        namespace name: String, settle: Duration = .seconds(5), stillTentative: (String) -> Void = { _ in }
    ) throws -> String {
        func ipJSON(_ args: String...) throws -> [[String: Any]] { try LabNamespace.json(["ip", "-n", name, "-j"] + args) }
        func tcJSON(_ args: String...) throws -> [[String: Any]] { try LabNamespace.json(["tc", "-n", name, "-j"] + args) }
        let deadline = ContinuousClock.now + settle
        var tentative = try LabNamespace.sh(["ip", "-n", name, "addr", "show"]).contains("tentative")
        while tentative, ContinuousClock.now < deadline {
            usleep(100_000)
            tentative = try LabNamespace.sh(["ip", "-n", name, "addr", "show"]).contains("tentative")
        }
        if tentative { stillTentative("\(name): an address is still tentative after \(settle); comparing as it is") }
        var out: [String: Any] = [:]
        out["link"] = try ipJSON("-d", "link", "show")
        out["addr"] = try ipJSON("-d", "addr", "show")
        // Routes of every table: main, local and policy tables.
        out["route4"] = try ipJSON("-d", "route", "show", "table", "all")
        out["route6"] = try ipJSON("-d", "-6", "route", "show", "table", "all")
        // Policy rules say which tables matter; sandnet never changes them, so they must not differ.
        out["rule4"] = try ipJSON("-d", "-4", "rule", "show")
        out["rule6"] = try ipJSON("-d", "-6", "rule", "show")
        // Only permanent entries: cache entries come and go with the kernel's own probes.
        out["neigh"] = try ipJSON("-d", "neigh", "show", "nud", "permanent")
        out["qdisc"] = try tcJSON("-d", "qdisc", "show")
        var filters: [String: Any] = [:]
        for l in try ipJSON("link", "show") {
            guard let n = l["ifname"] as? String else { continue }
            filters[n] = try tcJSON("-d", "filter", "show", "dev", n, "ingress")
        }
        out["filter"] = filters
        let data = try JSONSerialization.data(withJSONObject: out, options: [.sortedKeys, .prettyPrinted])
        return String(decoding: data, as: UTF8.self)
    }

    /// The first line where two snapshots differ, for a failure that says what changed.
    public static func firstDifference(_ a: String, _ b: String) -> String {
        let la = a.split(separator: "\n", omittingEmptySubsequences: false)
        let lb = b.split(separator: "\n", omittingEmptySubsequences: false)
        for i in 0..<max(la.count, lb.count) where (i < la.count ? la[i] : "<end>") != (i < lb.count ? lb[i] : "<end>") {
            return "line \(i + 1): before `\(i < la.count ? la[i] : "<end>")`, after `\(i < lb.count ? lb[i] : "<end>")`"
        }
        return "identical"
    }
}
