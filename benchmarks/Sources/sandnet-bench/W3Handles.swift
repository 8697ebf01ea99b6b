import Foundation
import NetlinkSocket

/// W3: open a namespace-bound handle (a NETLINK_ROUTE socket made on a namespace thread)
/// and close it, `cycles` times; the floor and the Go peer do the same from their own process.
struct HandleFigures {
    var sandnet: [Sample] = []
    var floor: [Sample] = []
    /// The floor's steps with setns on a dedicated pinned thread, as sandnet must do them.
    var floorThread: [Sample] = []
    var goRoute: [Sample]? = nil
    var goDefault: [Sample]? = nil
    var descriptors = ""
}

func handleSides(_ ns: String, _ o: Options, batches: Int, withDefault: Bool) throws -> HandleFigures {
    var f = HandleFigures()
    try NetlinkHandle(namespace: .named(ns)).close() // warm-up: start the namespace thread
    let fdsBefore = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
    let perCycle = Double(o.cycles)
    let goCycles = max(1, o.cycles / 10)
    // One batch of every side in turn, so all of them see the same phases of this VM's
    // drifting speed (its host is shared).
    var goRoute: [Sample] = []
    var goDefault: [Sample] = []
    for _ in 0..<batches {
        f.sandnet.append(try measured { for _ in 0..<o.cycles { try NetlinkHandle(namespace: .named(ns)).close() } } / perCycle)
        f.floor.append(sample(run([o.floor, "w3", ns, "\(o.cycles)"]).stdout, "total") / perCycle)
        f.floorThread.append(sample(run([o.floor, "w3-thread", ns, "\(o.cycles)"]).stdout, "total") / perCycle)
        if let go = o.go {
            goRoute.append(sample(run([go, "w3", ns, "\(o.cycles)", "route"]).stdout, "total") / perCycle)
            // NewHandleAt's default opens NETLINK_XFRM and NETLINK_NETFILTER sockets as well,
            // each with its own setns pair: far slower, so a tenth of the cycles.
            if withDefault {
                goDefault.append(sample(run([go, "w3", ns, "\(goCycles)", "all"]).stdout, "total") / Double(goCycles))
            }
        }
    }
    let fdsAfter = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
    if fdsAfter > fdsBefore { die("W3: \(fdsAfter - fdsBefore) descriptors leaked over \(batches * o.cycles) cycles") }
    f.descriptors = "\(fdsBefore)/\(fdsAfter)"
    if o.go != nil {
        f.goRoute = goRoute
        if withDefault { f.goDefault = goDefault }
    }
    return f
}

func w3Handles(_ o: Options) throws -> [Row] {
    let ns = Namespaces.create("handles")
    defer { Namespaces.remove(ns) }
    let batches = 10
    let f = try handleSides(ns, o, batches: batches, withDefault: true)
    func met(_ f: HandleFigures, wall: Double, cpu: Double) -> Bool {
        let s = median(f.sandnet)
        let fl = median(f.floor)
        return s.wall <= wall * fl.wall && s.cpu <= cpu * fl.cpu
    }
    var rows = [
        Row(
            workload: "W3 handle open+close", unit: "µs/cycle", sandnet: median(f.sandnet), floor: median(f.floor),
            go: f.goRoute.map(median), iproute2: nil, target: "≤1.2× floor wall, ≤1.5× CPU", met: met(f, wall: 1.2, cpu: 1.5),
            note:
                "medians of \(batches) batches of \(o.cycles) cycles; Go: NewHandleAt(ns, NETLINK_ROUTE); sandnet descriptors before/after: \(f.descriptors)"
        )
    ]
    rows.append(
        Row(
            workload: "W3 against the floor on a dedicated namespace thread", unit: "µs/cycle", sandnet: median(f.sandnet),
            floor: median(f.floorThread), go: f.goRoute.map(median), iproute2: nil,
            note:
                "floor column: the floor's steps with setns on a pinned thread per CPU, handed over with a futex and a yield (floor w3-thread): the least any library pays that, as sandnet's rule requires, never calls setns on its caller's thread"
        ))
    if let d = f.goDefault {
        rows.append(
            Row(
                workload: "W3 Go NewHandleAt(ns) default families", unit: "µs/cycle", sandnet: median(f.sandnet), floor: median(f.floor),
                go: median(d), iproute2: nil,
                note: "route, xfrm and netfilter sockets, as Kata's scan opens them; \(max(1, o.cycles / 10)) cycles per batch"))
    }
    let first = firstHandle(o, ns)
    rows.append(
        Row(
            workload: "W3 first handle in a fresh process", unit: "µs", sandnet: first.sandnet, floor: first.floor, go: nil,
            iproute2: nil,
            note:
                "open+close of the first handle after exec (namespace thread start included), medians of \(first.runs) processes; sandnet's page faults in it: \(Int(first.faults)); the floor's first cycle on a dedicated thread, that thread's start included (floor w3-thread-first): \(figure(first.floorThread, "µs")) µs"
        ))
    if o.contention {
        let busy = try withBusyCore(o) { try handleSides(ns, o, batches: batches, withDefault: false) }
        rows.append(
            Row(
                workload: "W3 handle open+close (one core busy)", unit: "µs/cycle", sandnet: median(busy.sandnet),
                floor: median(busy.floor), go: busy.goRoute.map(median), iproute2: nil, target: "≤1.5× floor",
                met: median(busy.sandnet).wall <= 1.5 * median(busy.floor).wall,
                note: "\(busyNote); \(batches) batches of \(o.cycles) cycles"))
        rows.append(
            Row(
                workload: "W3 against the dedicated-thread floor (one core busy)", unit: "µs/cycle",
                sandnet: median(busy.sandnet), floor: median(busy.floorThread), go: busy.goRoute.map(median), iproute2: nil,
                note: "floor column: floor w3-thread, as above"))
    }
    return rows
}

/// The first handle of a fresh process: this binary run with `--first-handle NS`, and the
/// floor's one-cycle W3 (its first setns and socket, also in a fresh process).
private func firstHandle(_ o: Options, _ ns: String) -> (runs: Int, sandnet: Sample, floor: Sample, floorThread: Sample, faults: Double) {
    let runs = 10
    var sandnet: [Sample] = []
    var floor: [Sample] = []
    var floorThread: [Sample] = []
    var faults: [Double] = []
    for _ in 0..<runs {
        let child = run([CommandLine.arguments[0], "--first-handle", ns]).stdout
        sandnet.append(sample(child, "total"))
        faults.append(Double(field(child, "faults") ?? "") ?? .nan)
        floor.append(sample(run([o.floor, "w3", ns, "1"]).stdout, "total"))
        floorThread.append(sample(run([o.floor, "w3-thread-first", ns, "1"]).stdout, "total"))
    }
    return (runs, median(sandnet), median(floor), median(floorThread), median(faults))
}

/// `--first-handle NS`: times this process's first namespace-bound handle and exits.
func firstHandleChild(_ ns: String) -> Never {
    do {
        var before = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &before)
        let s = try measured { try NetlinkHandle(namespace: .named(ns)).close() }
        var after = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &after)
        print("total \(Int(s.wall)) \(Int(s.cpu))\nfaults \(after.ru_minflt - before.ru_minflt)")
        exit(0)
    } catch { die("\(error)") }
}

/// `--handle-cycles NS N`: N namespace-bound handle cycles in a fresh process, after one to
/// start the namespace thread; prints `total WALL_NS CPU_NS` like the floor (for perf stat).
func handleCyclesChild(_ ns: String, _ count: String) -> Never {
    do {
        let n = Int(count) ?? 2000
        try NetlinkHandle(namespace: .named(ns)).close()
        let s = try measured { for _ in 0..<n { try NetlinkHandle(namespace: .named(ns)).close() } }
        print("total \(Int(s.wall)) \(Int(s.cpu))")
        exit(0)
    } catch { die("\(error)") }
}
