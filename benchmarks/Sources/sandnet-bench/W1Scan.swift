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

/// sandnet, the floor and the Go peer scanning `ns` `runs` times each (after a warm-up),
/// their counts compared: all three must have decoded the same objects.
struct ScanFigures {
    var sandnet: [Sample] = []
    var floor: [Sample] = []
    var go: [Sample]? = nil
    var counts = ScanCounts()
}

func scanSides(_ ns: String, _ o: Options, runs: Int) throws -> ScanFigures {
    var f = ScanFigures()
    let rt = try Rtnetlink(namespace: .named(ns))
    defer { rt.close() }
    _ = try sandnetScan(rt) // warm-up
    // Interleaved in rounds, each side a share of the runs per round: this VM's speed drifts
    // by up to a third over seconds (its host is shared), and sides measured one after the
    // other would each catch a different phase of it.
    let rounds = max(1, min(6, runs / 5))
    var counts = ScanCounts()
    var goRuns: [Sample] = []
    for round in 0..<rounds {
        let share = runs / rounds + (round < runs % rounds ? 1 : 0)
        f.sandnet += try (0..<share).map { _ in try measured { counts = try sandnetScan(rt) } }
        // The floor and the Go peer: the same four dumps, in one process each a round; the
        // first run of each process is its warm-up.
        let out = run([o.floor, "w1", ns, "\(share + 1)"]).stdout
        f.floor += runSamples(out).dropFirst()
        let floorCounts = ScanCounts(floorLine: field(out, "counts") ?? "")
        if floorCounts != counts { die("W1 \(ns): sandnet saw \(counts), the floor \(floorCounts)") }
        if let go = o.go {
            let out = run([go, "w1", ns, "\(share + 1)"]).stdout
            goRuns += runSamples(out).dropFirst()
            let goCounts = ScanCounts(floorLine: field(out, "counts") ?? "")
            if goCounts != counts { die("W1 \(ns): sandnet saw \(counts), the Go peer \(goCounts)") }
        }
    }
    f.counts = counts
    if o.go != nil { f.go = goRuns }
    return f
}

/// W1's targets: ≤1.3× the floor in wall time and in CPU.
func scanTarget(_ f: ScanFigures) -> Bool {
    let s = median(f.sandnet)
    let fl = median(f.floor)
    return s.wall <= 1.3 * fl.wall && s.cpu <= 1.3 * fl.cpu
}

func w1Scan(_ o: Options) throws -> [Row] {
    let ns = scanNamespace(links: o.links, floor: o.floor)
    defer { Namespaces.remove(ns) }
    let f = try scanSides(ns, o, runs: o.runs)
    let counts = f.counts
    // iproute2: `ip -j -batch` (links, addresses, IPv4 routes of all tables, neighbours) and
    // `ip -6 route show table all` (a family-less route listing is IPv4 only); process start-up included.
    let batch = "link show\naddress show\nroute show table all\nneigh show\n"
    let ipRuns = max(5, o.runs / 3)
    let ip = (0..<ipRuns).map { _ in
        measuredChildren {
            run(["ip", "-n", ns, "-j", "-batch", "-"], stdin: batch)
            run(["ip", "-n", ns, "-j", "-6", "route", "show", "table", "all"])
        }
    }
    let ipLinks = jsonArray(run(["ip", "-n", ns, "-j", "link", "show"]).stdout).count
    if ipLinks != counts.links { die("W1: sandnet saw \(counts.links) links, ip \(ipLinks)") }
    var rows = [
        Row(
            workload: "W1 scan, \(o.links) veth ends", unit: "ms/scan", sandnet: median(f.sandnet), floor: median(f.floor),
            go: f.go.map(median), iproute2: median(ip), target: "≤1.3× floor wall and CPU", met: scanTarget(f),
            note:
                "all sides decoded \(counts) per scan; ip -j links=\(ipLinks); medians of \(o.runs) scans (iproute2: \(ipRuns), 2 processes each)"
        )
    ]
    if o.contention {
        let busy = try withBusyCore(o) { try scanSides(ns, o, runs: o.contentionRuns) }
        rows.append(
            Row(
                workload: "W1 scan, \(o.links) veth ends (one core busy)", unit: "ms/scan", sandnet: median(busy.sandnet),
                floor: median(busy.floor), go: busy.go.map(median), iproute2: nil, target: "≤1.5× floor",
                met: median(busy.sandnet).wall <= 1.5 * median(busy.floor).wall,
                note: "\(busyNote); medians of \(o.contentionRuns) scans, counts checked as above"))
    }
    return rows
}
