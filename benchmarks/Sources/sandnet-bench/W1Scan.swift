import Foundation
import NetlinkCodec
import NetlinkSocket
import Rtnetlink

struct ScanCounts: Equatable, CustomStringConvertible {
    var links = 0, addresses = 0, routes = 0, neighbours = 0
    var description: String { "links=\(links) addresses=\(addresses) routes=\(routes) neighbours=\(neighbours)" }

    init(links: Int = 0, addresses: Int = 0, routes: Int = 0, neighbours: Int = 0) {
        self.links = links
        self.addresses = addresses
        self.routes = routes
        self.neighbours = neighbours
    }
    /// From the floor's "counts links=.. addresses=.." line.
    init(floorLine: String) {
        var v: [String: Int] = [:]
        for kv in floorLine.split(separator: " ") {
            let p = kv.split(separator: "=")
            if p.count == 2 { v[String(p[0])] = Int(p[1]) }
        }
        self.init(links: v["links"] ?? -1, addresses: v["addresses"] ?? -1, routes: v["routes"] ?? -1, neighbours: v["neighbours"] ?? -1)
    }
}

/// W1 as sandnet does it: dump and decode links, addresses, routes (every table, both
/// families) and neighbours into records.
func sandnetScan(_ rt: Rtnetlink) throws -> ScanCounts {
    ScanCounts(
        links: try rt.links().count, addresses: try rt.addresses().count,
        routes: try rt.routes(table: nil).count, neighbours: try rt.neighbours().count)
}

func w1Scan(_ o: Options) throws -> [Row] {
    let ns = scanNamespace(links: o.links, floor: o.floor)
    defer { Namespaces.remove(ns) }
    let rt = try Rtnetlink(namespace: .named(ns))
    defer { rt.close() }
    var counts = ScanCounts()
    _ = try sandnetScan(rt) // warm-up
    let sandnet = try (0..<o.runs).map { _ in try timed { counts = try sandnetScan(rt) } }
    // The floor: the same four dumps in C, in one process; its first run is its warm-up.
    let f = run([o.floor, "w1", ns, "\(o.runs + 1)"]).stdout
    let floorRuns = f.split(separator: "\n").filter { $0.hasPrefix("run ") }.dropFirst().compactMap { Double($0.dropFirst(4)) }
    let floorCounts = ScanCounts(floorLine: field(f, "counts") ?? "")
    // iproute2: `ip -j -batch` (links, addresses, IPv4 routes of all tables, neighbours) and
    // `ip -6 route show table all` (a family-less route listing is IPv4 only); process start-up included.
    let batch = "link show\naddress show\nroute show table all\nneigh show\n"
    let ipRuns = max(5, o.runs / 3)
    let ip = (0..<ipRuns).map { _ in
        timed {
            run(["ip", "-n", ns, "-j", "-batch", "-"], stdin: batch)
            run(["ip", "-n", ns, "-j", "-6", "route", "show", "table", "all"])
        }
    }
    // Both sides must have seen the same objects (the kernel's own entries included).
    if floorCounts != counts { die("W1: sandnet saw \(counts), the floor \(floorCounts)") }
    let ipLinks = jsonArray(run(["ip", "-n", ns, "-j", "link", "show"]).stdout).count
    if ipLinks != counts.links { die("W1: sandnet saw \(counts.links) links, ip \(ipLinks)") }
    let ratio = median(sandnet) / median(floorRuns)
    return [
        Row(
            workload: "W1 scan, \(o.links) veth ends", unit: "ms/scan", sandnet: median(sandnet), floor: median(floorRuns),
            iproute2: median(ip), target: "≤1.3× floor", met: ratio <= 1.3,
            note:
                "both decoded \(counts) per scan; ip -j links=\(ipLinks); medians of \(o.runs) scans (iproute2: \(ipRuns), 2 processes each)"
        )
    ]
}
