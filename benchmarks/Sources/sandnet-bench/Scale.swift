import Foundation

/// How time and memory grow: W1 at each of `memoryLinks` veth ends (time per scan, peak
/// memory of one scan in a fresh process) and W2 tcfilter attach at each of
/// `scaleEndpoints` endpoints (time per endpoint, peak memory of one attaching process).
func scale(_ o: Options) throws -> [Row] {
    try scanScale(o) + attachScale(o)
}

/// Per-unit growth between successive sizes, e.g. "0.21, 0.25".
private func slopes(_ points: [(size: Int, value: Double)], per: Double) -> String {
    zip(points, points.dropFirst()).map { a, b in String(format: "%.2f", (b.value - a.value) / Double(b.size - a.size) / per) }
        .joined(separator: ", ")
}

private func scanScale(_ o: Options) throws -> [Row] {
    struct Point {
        var links: Int
        var scan: ScanFigures
        var sandnetKB, floorKB: Double
        var goKB: Double?
    }
    var points: [Point] = []
    let me = CommandLine.arguments[0]
    for n in o.memoryLinks {
        let ns = scanNamespace(links: n, floor: o.floor)
        defer { Namespaces.remove(ns) }
        let scan = try scanSides(ns, o, runs: o.scaleRuns)
        // Peak memory of one scan, each in a fresh process of its own.
        let s = run([me, "--measure-memory", ns]).stdout
        let f = run([o.floor, "w1", ns, "1"]).stdout
        let g = o.go.map { run([$0, "w1", ns, "1"]).stdout }
        for (side, out) in [("sandnet", s), ("floor", f), ("Go", g ?? s)]
        where ScanCounts(floorLine: field(out, "counts") ?? "") != scan.counts {
            die("memory at \(n) links: \(side) saw \(field(out, "counts") ?? "?"), the scans \(scan.counts)")
        }
        points.append(
            Point(
                links: n, scan: scan, sandnetKB: number(s, "maxrss_kb"), floorKB: number(f, "maxrss_kb"),
                goKB: g.map { number($0, "maxrss_kb") }))
    }
    // Linear: the memory per link stays the same between successive sizes (within 35%).
    var perLink: [Double] = []
    for (a, b) in zip(points, points.dropFirst()) { perLink.append((b.sandnetKB - a.sandnetKB) / Double(b.links - a.links)) }
    let linear = perLink.count < 2 || perLink.allSatisfy { abs($0 - perLink.last!) <= 0.35 * abs(perLink.last!) + 0.05 }
    let last = points.last?.links
    func growth(_ side: (ScanFigures) -> [Sample]?) -> String {
        slopes(points.map { p -> (size: Int, value: Double) in (p.links, median(side(p.scan) ?? []).wall) }, per: 1e3)
    }
    var timeNote = "medians of \(o.scaleRuns) scans; µs of wall time per extra veth end between sizes: sandnet "
    timeNote += growth { $0.sandnet } + ", floor " + growth { $0.floor }
    if o.go != nil { timeNote += ", Go " + growth { $0.go } }
    var rows: [Row] = []
    for p in points {
        rows.append(
            Row(
                workload: "W1 scan at scale, \(p.links) veth ends", unit: "ms/scan", sandnet: median(p.scan.sandnet),
                floor: median(p.scan.floor), go: p.scan.go.map(median), iproute2: nil, note: p.links == last ? timeNote : ""))
    }
    for p in points {
        rows.append(
            Row(
                workload: "W1 peak memory, \(p.links) veth ends", unit: "MB", sandnet: Sample(wall: p.sandnetKB * 1024),
                floor: Sample(wall: p.floorKB * 1024), go: p.goKB.map { Sample(wall: $0 * 1024) }, iproute2: nil,
                target: p.links == last ? "linear" : "", met: p.links == last ? linear : nil,
                note: p.links == last
                    ? "one scan in a fresh process (VmHWM); sandnet KB per extra veth end between sizes: \(perLink.map { String(format: "%.2f", $0) }.joined(separator: ", "))"
                    : ""))
    }
    return rows
}

private func attachScale(_ o: Options) throws -> [Row] {
    let w = W2(o: o)
    defer { try? FileManager.default.removeItem(atPath: w.store.directory) }
    let me = CommandLine.arguments[0]
    struct Point {
        var endpoints: Int
        var sandnet, floor: Sample
        var go: Sample?
        var sandnetKB, floorKB: Double
        var goKB: Double?
    }
    var points: [Point] = []
    for size in o.scaleEndpoints {
        let pods = Pods(count: size, tag: "sc\(size)")
        defer { pods.remove() }
        let n = Double(size)
        var s: [Sample] = []
        var f: [Sample] = []
        var g: [Sample] = []
        var sKB: [Double] = []
        var fKB = 0.0
        var gKB: [Double] = []
        for _ in 0..<o.scaleAttachRuns {
            // sandnet: every pod attached by one fresh process (its own peak memory), detached here.
            let out = run([me, "--measure-attach", w.store.directory, pods.pods.map(\.name).joined(separator: ",")]).stdout
            if field(out, "counts")?.hasPrefix("endpoints=\(size) ") != true { die("attach child did \(field(out, "counts") ?? "?")") }
            s.append(sample(out, "total") / n)
            sKB.append(number(out, "maxrss_kb"))
            pods.expect({ $0.tcWired }, "after sandnet attach (\(size) endpoints, one process)")
            _ = try pods.each { try w.detach($0) }
            pods.expect({ $0.bare }, "after sandnet detach")
            // The floor: a process per pod (its peak is one pod's).
            var floorTotal = Sample.zero
            for p in pods.pods {
                let out = run([o.floor, "tc-attach", p.name, "\(w.group)"]).stdout
                if field(out, "counts")?.hasPrefix("endpoints=\(p.count) ") != true { die("floor did \(field(out, "counts") ?? "?")") }
                floorTotal = floorTotal + sample(out, "total")
                fKB = max(fKB, number(out, "maxrss_kb"))
            }
            f.append(floorTotal / n)
            pods.expect({ $0.tcWired }, "after floor attach")
            _ = pods.each { w.floor($0, "tc-detach", ["group"]) }
            pods.expect({ $0.bare }, "after floor detach")
            if o.go != nil {
                let r = w.go(pods.pods, "tc-attach")
                g.append(r.time / n)
                gKB.append(r.maxrssKB)
                pods.expect({ $0.tcWired }, "after Go attach (one process)")
                _ = w.go(pods.pods, "tc-detach")
                pods.expect({ $0.bare }, "after Go detach")
            }
        }
        points.append(
            Point(
                endpoints: size, sandnet: median(s), floor: median(f), go: g.isEmpty ? nil : median(g), sandnetKB: median(sKB),
                floorKB: fKB, goKB: gKB.isEmpty ? nil : median(gKB)))
    }
    let last = points.last?.endpoints
    var memoryNote = "VmHWM of the attaching process (floor: of its largest per-pod process); KB per extra endpoint between sizes: sandnet "
    memoryNote += slopes(points.map { p -> (size: Int, value: Double) in (p.endpoints, p.sandnetKB) }, per: 1)
    if o.go != nil {
        memoryNote += ", Go " + slopes(points.map { p -> (size: Int, value: Double) in (p.endpoints, p.goKB ?? .nan) }, per: 1)
    }
    // Time per endpoint at the largest size over the smallest: 1.00× is a total that grows linearly.
    func growth(_ perEndpoint: (Point) -> Double?) -> String {
        guard let first = points.first.flatMap(perEndpoint), let last = points.last.flatMap(perEndpoint) else { return "-" }
        return String(format: "%.2f×", last / first)
    }
    var timeNote =
        "pods of 10; sandnet and Go attach every pod from one fresh process, the floor a process per pod; medians of \(o.scaleAttachRuns) runs; census checked after every phase; wall time per endpoint at \(points.last?.endpoints ?? 0) over \(points.first?.endpoints ?? 0) endpoints (1.00×: linear): sandnet "
    timeNote += growth { $0.sandnet.wall } + ", floor " + growth { $0.floor.wall }
    if o.go != nil { timeNote += ", Go " + growth { $0.go?.wall } }
    var rows: [Row] = []
    for p in points {
        rows.append(
            Row(
                workload: "W2 tcfilter attach at scale, \(p.endpoints) endpoints", unit: "ms/endpoint", sandnet: p.sandnet, floor: p.floor,
                go: p.go, iproute2: nil,
                note: p.endpoints == last ? timeNote : ""))
    }
    for p in points {
        rows.append(
            Row(
                workload: "W2 attach peak memory, \(p.endpoints) endpoints", unit: "MB", sandnet: Sample(wall: p.sandnetKB * 1024),
                floor: Sample(wall: p.floorKB * 1024), go: p.goKB.map { Sample(wall: $0 * 1024) }, iproute2: nil,
                note: p.endpoints == last ? memoryNote : ""))
    }
    return rows
}
