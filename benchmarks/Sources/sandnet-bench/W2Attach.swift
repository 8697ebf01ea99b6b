import Foundation
import NetlinkCodec
import NetlinkSocket
import Rtnetlink
import SandboxNetwork
import SandnetCore
import TapDevices
import TrafficControl

/// W2: plumbing `n` veth endpoints for a VM and taking it away again, per endpoint.
/// sandnet runs its attach/detach engine (scan, journal, rollback-safe steps); the floor
/// and iproute2 make the same kernel requests without any of that.
struct W2 {
    let o: Options
    /// The journal directory: tmpfs by default, as /run (sandnet's default) is on a
    /// systemd host; this machine's /run is on disk, measured separately.
    var store = JournalStore(directory: "/dev/shm/\(Namespaces.prefix)-state")
    func sandbox(_ ns: EndpointNamespace) -> String { "bench-\(ns.name)" }
    /// Link group for the floor's and iproute2's devices (sandnet picks its own).
    let group: UInt32 = 4242

    func attach(_ ns: EndpointNamespace, _ model: NetworkModel) throws -> Sample {
        var result: AttachResult?
        let t = try measured {
            result = try SandboxAttach.attach(
                AttachSettings(sandbox: sandbox(ns), namespace: ns.name, model: model, vcpus: 2), store: store)
        }
        guard let result else { die("attach returned nothing") }
        if result.descriptors.count != 2 * ns.count {
            die("attach opened \(result.descriptors.count) queues for \(ns.count) endpoints, not 2 each")
        }
        result.closeDescriptors()
        return t
    }

    func detach(_ ns: EndpointNamespace) throws -> Sample {
        try measured { _ = try SandboxDetach.detach(sandbox: sandbox(ns), store: store) }
    }

    /// The tcfilter wiring through sandnet's library calls only (no scan beyond one link
    /// dump, no journal): what the engine costs on top of these is its bookkeeping.
    func libraryAttach(_ ns: EndpointNamespace) throws -> Sample {
        let rt = try Rtnetlink(namespace: .named(ns.name))
        defer { rt.close() }
        var fds: [Int32] = []
        let t = try measured {
            let endpoints = try rt.links().filter { $0.kind == "veth" && ($0.group ?? 0) == 0 }
            for (i, e) in endpoints.enumerated() {
                let q = try TunTap.create(
                    TapSpec(name: "lb\(group)t\(i)", queues: 2, vnetHeader: true, persistent: true), in: .named(ns.name))
                let tapIndex = q.index
                fds += q.takeDescriptors()
                try rt.linkSet(.index(tapIndex), LinkChange(up: true, mtu: e.mtu, group: group))
                for (from, to) in [(e.index, tapIndex), (tapIndex, e.index)] {
                    try rt.qdiscAdd(QdiscSpec(device: .index(from), kind: .ingress))
                    try rt.filterAdd(
                        FilterSpec(
                            device: .index(from), parent: .ingressQdisc, priority: 1,
                            kind: .u32(.matchAll, actions: [.mirred(MirredAction(.redirect, .egress, to: to))])))
                }
            }
        }
        for fd in fds { close(fd) }
        return t
    }

    func floor(_ ns: EndpointNamespace, _ mode: String, _ extra: [String] = []) -> Sample {
        let out = run([o.floor, mode, ns.name, "\(group)"] + extra).stdout
        if field(out, "counts")?.hasPrefix("endpoints=\(ns.count) ") != true && mode != "tc-detach" {
            die("floor \(mode) did \(field(out, "counts") ?? "?") for \(ns.count) endpoints")
        }
        return sample(out, "total")
    }

    /// The Go peer (Kata's setupTCFiltering / removeTCFiltering on vishvananda/netlink) over
    /// `pods` in one process; its wall and CPU time, and its peak memory in KB.
    func go(_ pods: [EndpointNamespace], _ mode: String) -> (time: Sample, maxrssKB: Double) {
        guard let go = o.go else { die("no Go peer") }
        let out = run([go, mode] + pods.map(\.name)).stdout
        let n = pods.reduce(0) { $0 + $1.count }
        if field(out, "counts")?.hasPrefix("endpoints=\(n) ") != true {
            die("Go peer \(mode) did \(field(out, "counts") ?? "?") for \(n) endpoints")
        }
        return (sample(out, "total"), number(out, "maxrss_kb"))
    }

    // iproute2: one `ip -batch` and one `tc -batch` process per phase (start-up included).
    func iproute2TcAttach(_ ns: EndpointNamespace) -> Sample {
        let ipLines = (0..<ns.count).flatMap { k in
            ["tuntap add dev it\(k) mode tap multi_queue vnet_hdr", "link set dev it\(k) up mtu 1500 group \(group)"]
        }
        let tcLines = (0..<ns.count).flatMap { k in
            [
                "qdisc add dev e\(k) ingress",
                "filter add dev e\(k) parent ffff: protocol all prio 1 u32 match u32 0 0 action mirred egress redirect dev it\(k)",
                "qdisc add dev it\(k) ingress",
                "filter add dev it\(k) parent ffff: protocol all prio 1 u32 match u32 0 0 action mirred egress redirect dev e\(k)"
            ]
        }
        return measuredChildren {
            run(["ip", "-n", ns.name, "-batch", "-"], stdin: ipLines.joined(separator: "\n") + "\n")
            run(["tc", "-n", ns.name, "-batch", "-"], stdin: tcLines.joined(separator: "\n") + "\n")
        }
    }

    func iproute2TcDetach(_ ns: EndpointNamespace, oneByOne: Bool) -> Sample {
        let ipLines = oneByOne ? (0..<ns.count).map { "link del dev it\($0)" } : ["link del group \(group)"]
        let tcLines = (0..<ns.count).map { "qdisc del dev e\($0) ingress" }
        return measuredChildren {
            run(["ip", "-n", ns.name, "-batch", "-"], stdin: ipLines.joined(separator: "\n") + "\n")
            run(["tc", "-n", ns.name, "-batch", "-"], stdin: tcLines.joined(separator: "\n") + "\n")
        }
    }

    func iproute2MacvtapAttach(_ ns: EndpointNamespace) -> Sample {
        let macs = ns.macs()
        let lines = (0..<ns.count).flatMap { k -> [String] in
            let hex = String(k, radix: 16)
            return [
                "addr del 198.51.100.\(k % 254 + 1)/32 dev e\(k)", "addr del 2001:db8:1:\(hex)::1/64 dev e\(k)",
                "route del 2001:db8:2:\(hex)::/64 dev e\(k)",
                "link set dev e\(k) address 02:5e:\(String(format: "%02x:%02x", k >> 8, k & 255)):42:01",
                "link add link e\(k) name im\(k) address \(macs["e\(k)"]!) mtu 1500 up type macvtap mode bridge",
                "link set dev im\(k) group \(group)"
            ]
        }
        return measuredChildren { run(["ip", "-n", ns.name, "-batch", "-"], stdin: lines.joined(separator: "\n") + "\n") }
    }
}

/// `count` endpoints as pods of at most `perPod` (a sandbox's VM takes at most 16 NICs):
/// every side plumbs each pod in turn, and times add up.
struct Pods {
    let pods: [EndpointNamespace]
    var count: Int { pods.reduce(0) { $0 + $1.count } }

    init(count: Int, perPod: Int = 10, tag: String) {
        pods = stride(from: 0, to: count, by: perPod).enumerated().map { i, first in
            EndpointNamespace(count: min(perPod, count - first), tag: "\(tag)-\(i)")
        }
    }
    func remove() { for p in pods { p.remove() } }
    func each(_ body: (EndpointNamespace) throws -> Sample) rethrows -> Sample { try pods.reduce(.zero) { $0 + (try body($1)) } }
    func expect(_ state: (EndpointNamespace) -> EndpointNamespace.Census, _ phase: String) { for p in pods { p.expect(state(p), phase) } }
    var description: String {
        pods.count == 1 ? "1 pod" : "\(pods.count) pods of \(pods[0].count)"
    }
}

/// tcfilter attach of every pod by each side in turn, each side's teardown restoring the
/// namespaces; the census is checked after every phase. Figures per endpoint.
struct TcAttachFigures {
    var sandnet: [Sample] = []
    var library: [Sample] = []
    var floor: [Sample] = []
    var go: [Sample] = []
    var ip: [Sample] = []
}

func tcAttachSides(_ w: W2, _ all: Pods, runs: Int, full: Bool) throws -> TcAttachFigures {
    let bare = { (p: EndpointNamespace) in p.bare }
    let tcWired = { (p: EndpointNamespace) in p.tcWired }
    let n = Double(all.count)
    var f = TcAttachFigures()
    for _ in 0..<runs {
        f.sandnet.append(try all.each { try w.attach($0, .tcfilter) } / n)
        all.expect(tcWired, "after sandnet tcfilter attach")
        _ = try all.each { try w.detach($0) }
        all.expect(bare, "after sandnet detach")
        if full {
            f.library.append(try all.each { try w.libraryAttach($0) } / n)
            all.expect(tcWired, "after sandnet library wiring")
            _ = all.each { w.floor($0, "tc-detach", ["group"]) }
            all.expect(bare, "after floor group detach")
        }
        f.floor.append(all.each { w.floor($0, "tc-attach") } / n)
        all.expect(tcWired, "after floor tcfilter attach")
        _ = all.each { w.floor($0, "tc-detach", ["group"]) }
        all.expect(bare, "after floor group detach")
        if w.o.go != nil {
            // One Go process per pod, as the floor: each pod is a sandbox of its own.
            f.go.append(all.each { w.go([$0], "tc-attach").time } / n)
            all.expect(tcWired, "after Go tcfilter attach")
            _ = all.each { w.go([$0], "tc-detach").time }
            all.expect(bare, "after Go detach")
        }
        if full {
            f.ip.append(all.each { w.iproute2TcAttach($0) } / n)
            all.expect(tcWired, "after iproute2 tcfilter attach")
            _ = all.each { w.iproute2TcDetach($0, oneByOne: false) }
            all.expect(bare, "after iproute2 group detach")
        }
    }
    return f
}

/// W2 attach's target: ≤1.15× the floor's wall time and below the Go sequence's.
func attachTarget(_ f: TcAttachFigures) -> Bool {
    let s = median(f.sandnet).wall
    return s <= 1.15 * median(f.floor).wall && (f.go.isEmpty || s < median(f.go).wall)
}

func w2AttachDetach(_ o: Options) throws -> [Row] {
    let w = W2(o: o)
    defer { try? FileManager.default.removeItem(atPath: w.store.directory) }
    let n = o.endpoints
    let runs = o.attachRuns
    var rows: [Row] = []
    let bare = { (p: EndpointNamespace) in p.bare }
    let tcWired = { (p: EndpointNamespace) in p.tcWired }
    let mvWired = { (p: EndpointNamespace) in p.macvtapWired }
    func goFigure(_ xs: [Sample]) -> Sample? { xs.isEmpty ? nil : median(xs) }

    let all = Pods(count: n, tag: "ep")
    defer { all.remove() }
    all.expect(bare, "before W2")
    let f = try tcAttachSides(w, all, runs: runs, full: true)
    rows.append(
        Row(
            workload: "W2 tcfilter attach (sandnet attach), \(n) endpoints", unit: "ms/endpoint", sandnet: median(f.sandnet),
            floor: median(f.floor), go: goFigure(f.go), iproute2: median(f.ip), target: "≤1.15× floor, < Go", met: attachTarget(f),
            note:
                "\(all.description); per pod after each side: \(all.pods[0].tcWired), after each teardown: \(all.pods[0].bare); medians of \(runs) runs; Go: Kata's setupTCFiltering per endpoint (doNetNS, NewHandle, Tuntap LinkAdd, 2× LinkByName, LinkSetMTU, LinkSetUp, 2× QdiscAdd, 2× FilterAdd), endpoints from one LinkList"
        ))
    rows.append(
        Row(
            workload: "W2 tcfilter wiring (sandnet library calls only)", unit: "ms/endpoint", sandnet: median(f.library),
            floor: median(f.floor), go: goFigure(f.go), iproute2: median(f.ip), target: "", met: nil,
            note: "TunTap.create + linkSet + qdiscAdd/filterAdd ×2 by index, no scan/journal"))
    if o.contention {
        let busy = try withBusyCore(o) { try tcAttachSides(w, all, runs: o.contentionAttachRuns, full: false) }
        rows.append(
            Row(
                workload: "W2 tcfilter attach (sandnet attach), \(n) endpoints (one core busy)", unit: "ms/endpoint",
                sandnet: median(busy.sandnet), floor: median(busy.floor), go: goFigure(busy.go), iproute2: nil, target: "≤1.5× floor",
                met: median(busy.sandnet).wall <= 1.5 * median(busy.floor).wall,
                note: "\(busyNote); medians of \(o.contentionAttachRuns) runs, census checked after every phase as above"))
    }

    // The same attach with the journal on this machine's disk-backed /run (fsync per step).
    var onDisk = W2(o: o)
    onDisk.store = JournalStore(directory: "/run/\(Namespaces.prefix)-state")
    defer { try? FileManager.default.removeItem(atPath: onDisk.store.directory) }
    let disk = try all.each { try onDisk.attach($0, .tcfilter) } / Double(n)
    all.expect(tcWired, "after sandnet tcfilter attach (journal on disk)")
    _ = try all.each { try onDisk.detach($0) }
    all.expect(bare, "after sandnet detach (journal on disk)")
    rows.append(
        Row(
            workload: "W2 tcfilter attach, journal on disk (ext4 /run here)", unit: "ms/endpoint", sandnet: disk,
            floor: median(f.floor), iproute2: median(f.ip), target: "", met: nil,
            note: "one run; every journal step is written, fsync'd and renamed before its kernel change"))

    // macvtap attach and detach. The floor and iproute2 do not restore, so they get fresh namespaces per run.
    var mvSandnet: [Sample] = []
    var mvDetach: [Sample] = []
    var mvFloor: [Sample] = []
    var mvIp: [Sample] = []
    for i in 0..<runs {
        mvSandnet.append(try all.each { try w.attach($0, .macvtap) } / Double(n))
        all.expect(mvWired, "after sandnet macvtap attach")
        mvDetach.append(try all.each { try w.detach($0) } / Double(n))
        all.expect(bare, "after sandnet macvtap detach")
        let f = Pods(count: n, tag: "mvf\(i)")
        mvFloor.append(f.each { w.floor($0, "mv-attach") } / Double(n))
        f.expect(mvWired, "after floor macvtap attach")
        f.remove()
        let p = Pods(count: n, tag: "mvi\(i)")
        mvIp.append(p.each { w.iproute2MacvtapAttach($0) } / Double(n))
        p.expect(mvWired, "after iproute2 macvtap attach")
        p.remove()
    }
    let rm = median(mvSandnet).wall / median(mvFloor).wall
    rows.append(
        Row(
            workload: "W2 macvtap attach (sandnet attach), \(n) endpoints", unit: "ms/endpoint", sandnet: median(mvSandnet),
            floor: median(mvFloor), iproute2: median(mvIp), target: "≤1.1× floor", met: rm <= 1.1,
            note: "per pod after each side: \(all.pods[0].macvtapWired); iproute2 opens no queues (ip cannot); medians of \(runs) runs"))
    rows.append(
        Row(
            workload: "W2 macvtap detach (sandnet detach), \(n) endpoints", unit: "ms/endpoint", sandnet: median(mvDetach),
            floor: nil, iproute2: nil, note: "group delete per pod, MACs, addresses and routes given back; namespaces checked bare"))

    // Detach at 1, 10, 100 endpoints next to the one-by-one floor (one RCU grace period per link)
    // and Kata's removeTCFiltering per endpoint.
    for size in o.detachSizes {
        let d = size == n ? all : Pods(count: size, tag: "det\(size)")
        let reps = size >= 100 ? max(3, runs / 2) : runs
        var s: [Sample] = []
        var one: [Sample] = []
        var grp: [Sample] = []
        var go: [Sample] = []
        var ipOne: [Sample] = []
        var ipGrp: [Sample] = []
        for _ in 0..<reps {
            _ = try d.each { try w.attach($0, .tcfilter) }
            d.expect(tcWired, "before sandnet detach")
            s.append(try d.each { try w.detach($0) } / Double(size))
            d.expect(bare, "after sandnet detach")
            _ = d.each { w.floor($0, "tc-attach") }
            one.append(d.each { w.floor($0, "tc-detach", ["one"]) } / Double(size))
            d.expect(bare, "after floor one-by-one detach")
            _ = d.each { w.floor($0, "tc-attach") }
            grp.append(d.each { w.floor($0, "tc-detach", ["group"]) } / Double(size))
            d.expect(bare, "after floor group detach")
            if o.go != nil {
                _ = d.each { w.go([$0], "tc-attach").time }
                go.append(d.each { w.go([$0], "tc-detach").time } / Double(size))
                d.expect(bare, "after Go detach")
            }
            _ = d.each { w.iproute2TcAttach($0) }
            ipOne.append(d.each { w.iproute2TcDetach($0, oneByOne: true) } / Double(size))
            d.expect(bare, "after iproute2 one-by-one detach")
            _ = d.each { w.iproute2TcAttach($0) }
            ipGrp.append(d.each { w.iproute2TcDetach($0, oneByOne: false) } / Double(size))
            d.expect(bare, "after iproute2 group detach")
        }
        if size != n { d.remove() }
        let below = median(s).wall < median(one).wall
        rows.append(
            Row(
                workload: "W2 tcfilter detach, \(size) endpoint\(size == 1 ? "" : "s") (\(d.description))", unit: "ms/endpoint",
                sandnet: median(s), floor: median(one), go: goFigure(go), iproute2: median(ipOne), target: "< one-by-one floor",
                met: below,
                note:
                    "floor and iproute2 here delete taps one by one, Go as Kata's removeTCFiltering; by link group (one per pod) floor and iproute2 take \(String(format: "%.2f", median(grp).wall / 1e6)) and \(String(format: "%.2f", median(ipGrp).wall / 1e6)) ms/endpoint; \(reps) runs"
            ))
    }
    return rows
}
