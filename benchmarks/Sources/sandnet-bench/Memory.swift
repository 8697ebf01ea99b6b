import Foundation
import NetlinkSocket
import Rtnetlink

/// Child mode: one scan of an existing namespace, then this process's peak RSS.
func measureMemoryChild(_ ns: String) -> Never {
    do {
        let rt = try Rtnetlink(namespace: .named(ns))
        let c = try sandnetScan(rt)
        rt.close()
        print("counts \(c)\nmaxrss_kb \(peakRSSKilobytes())")
        exit(0)
    } catch { die("\(error)") }
}

/// VmHWM, not ru_maxrss: ru_maxrss survives execve and reports the spawning parent's peak.
func peakRSSKilobytes() -> Int {
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") } ?? ""
    return Int(line.split(separator: " ").dropFirst().first ?? "") ?? -1
}

/// Peak memory of one W1 scan in a fresh process, sandnet and floor, at each size.
func memoryGrowth(_ o: Options) -> [Row] {
    var points: [(links: Int, sandnet: Double, floor: Double)] = []
    let me = CommandLine.arguments[0]
    for n in o.memoryLinks {
        let ns = scanNamespace(links: n, floor: o.floor)
        let s = run([me, "--measure-memory", ns]).stdout
        let f = run([o.floor, "w1", ns, "1"]).stdout
        Namespaces.remove(ns)
        if ScanCounts(floorLine: field(s, "counts") ?? "") != ScanCounts(floorLine: field(f, "counts") ?? "") {
            die("memory at \(n) links: sandnet \(field(s, "counts") ?? "?"), floor \(field(f, "counts") ?? "?")")
        }
        points.append((n, number(s, "maxrss_kb"), number(f, "maxrss_kb")))
    }
    // Linear: the cost per link stays the same between successive sizes (within 35%).
    var slopes: [Double] = []
    for (a, b) in zip(points, points.dropFirst()) { slopes.append((b.sandnet - a.sandnet) / Double(b.links - a.links)) }
    let linear = slopes.count < 2 || slopes.allSatisfy { abs($0 - slopes.last!) <= 0.35 * abs(slopes.last!) + 0.05 }
    return points.map { p in
        Row(
            workload: "W1 peak memory, \(p.links) veth ends", unit: "MB", sandnet: p.sandnet * 1024, floor: p.floor * 1024, iproute2: nil,
            target: p.links == points.last?.links ? "linear" : "", met: p.links == points.last?.links ? linear : nil,
            note: p.links == points.last?.links
                ? "sandnet KB per extra link between sizes: \(slopes.map { String(format: "%.2f", $0) }.joined(separator: ", "))" : "")
    }
}
