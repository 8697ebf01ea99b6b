// sandnet-bench: sandnet next to the floor (benchmarks/floor/floor.c on libmnl) and
// iproute2, on the same throwaway namespace, in one run. scripts/bench.sh builds the
// floor and this tool (release) and runs it; BENCHMARKS.md carries the latest table.
//
// Workloads are entries of `workloads` below: issue 7's W2 (attach/detach) and W4
// (check) are added there as they land. Timings are medians over repeated runs.
import Foundation
import NetlinkCodec
import NetlinkSocket
import Rtnetlink

struct Options {
    var links = 500
    var runs = 30
    var cycles = 2_000
    var memoryLinks = [500, 5_000]
    var floor = "benchmarks/floor/floor"
    var only: Set<String> = []
}

/// One line of the result table. Times in nanoseconds per unit of the workload.
struct Row {
    var workload: String
    var unit: String
    var sandnet: Double
    var floor: Double?
    var iproute2: Double?
    var note: String = ""
}

func die(_ message: String) -> Never {
    FileHandle.standardError.write(Data("sandnet-bench: \(message)\n".utf8)); exit(1)
}

func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted(); return s.isEmpty ? .nan : (s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2)
}

@discardableResult
func run(_ argv: [String], stdin: String? = nil, output: Bool = true) -> (status: Int32, stdout: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = argv
    let out = Pipe(), input = Pipe()
    p.standardOutput = output ? out : FileHandle.nullDevice
    p.standardError = FileHandle.standardError
    p.standardInput = stdin == nil ? FileHandle.nullDevice : input
    do { try p.run() } catch { die("cannot run \(argv[0]): \(error)") }
    if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)); try? input.fileHandleForWriting.close() }
    let data = output ? out.fileHandleForReading.readDataToEndOfFile() : Data()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}

// MARK: the prepared namespace

/// A throwaway namespace holding `links` veth ends, each up with an IPv4 and an IPv6
/// address, a route and a permanent neighbour; prepared with one `ip -batch`.
final class BenchNamespace {
    let name: String
    let links: Int

    init(links: Int) {
        self.links = links
        name = "snbench-\(getpid())-\(links)"
        do { try NetworkNamespace.create(named: name) } catch { die("\(error)") }
        var lines: [String] = []
        for p in 0..<(links / 2) {
            lines.append("link add bva\(p) type veth peer name bvb\(p)")
        }
        for e in 0..<(links / 2 * 2) {
            let dev = e % 2 == 0 ? "bva\(e / 2)" : "bvb\(e / 2)"
            let hi = String(e / 256, radix: 16), lo = String(e % 256, radix: 16)
            lines.append("link set \(dev) up")
            lines.append("addr add 198.51.100.\(e % 254 + 1)/32 dev \(dev)")
            lines.append("addr add 2001:db8:1:\(hi)\(lo.count == 1 ? "0" : "")\(lo)::1/64 dev \(dev) nodad")
            lines.append("route add 2001:db8:2:\(e)::/64 dev \(dev)")
            lines.append("neigh add 203.0.113.\(e % 254 + 1) lladdr 02:00:00:00:\(hi.count == 1 ? "0" : "")\(hi):\(lo.count == 1 ? "0" : "")\(lo) dev \(dev) nud permanent")
        }
        let start = now()
        let r = run(["ip", "-n", name, "-batch", "-"], stdin: lines.joined(separator: "\n") + "\n", output: false)
        if r.status != 0 { remove(); die("preparing \(name) with ip -batch failed") }
        sleep(1)   // let address and route notifications settle before measuring
        FileHandle.standardError.write(Data("prepared \(name): \(links) veth ends in \(Int(Double(now() - start) / 1e9)) s\n".utf8))
    }

    var namespace: NetworkNamespace { .named(name) }
    func remove() { try? NetworkNamespace.delete(named: name) }
}

// MARK: workloads

struct ScanCounts: Equatable, CustomStringConvertible {
    var links = 0, addresses = 0, routes = 0, neighbours = 0
    var description: String { "links=\(links) addresses=\(addresses) routes=\(routes) neighbours=\(neighbours)" }
}

/// W1 as sandnet does it: dump and decode links, addresses, routes, neighbours into records.
func sandnetScan(_ rt: Rtnetlink) throws -> ScanCounts {
    ScanCounts(links: try rt.links().count, addresses: try rt.addresses().count,
               routes: try rt.routes(table: nil).count, neighbours: try rt.neighbours().count)
}

func w1Scan(_ ns: BenchNamespace, _ o: Options) throws -> Row {
    let rt = try Rtnetlink(namespace: ns.namespace)
    defer { rt.close() }
    var counts = ScanCounts()
    _ = try sandnetScan(rt)   // warm-up
    let sandnet = try (0..<o.runs).map { _ -> Double in
        let t = now(); counts = try sandnetScan(rt); return Double(now() - t)
    }
    // The floor: same four dumps in C.
    let f = run([o.floor, "w1", ns.name, "\(o.runs + 1)"])
    guard f.status == 0 else { die("floor w1 failed") }
    let floorRuns = f.stdout.split(separator: "\n").filter { $0.hasPrefix("run ") }.dropFirst().compactMap { Double($0.dropFirst(4)) }
    let floorCounts = f.stdout.split(separator: "\n").first { $0.hasPrefix("counts ") }.map(String.init) ?? "?"
    // iproute2: one `ip -batch` process doing the same four listings (includes its start-up).
    let batch = "link show\naddress show\nroute show table all\nneigh show\n"
    let ip = (0..<max(5, o.runs / 3)).map { _ -> Double in
        let t = now(); _ = run(["ip", "-n", ns.name, "-batch", "-"], stdin: batch, output: false); return Double(now() - t)
    }
    // Both sides must have done the same work.
    let floorLinks = floorCounts.split(separator: " ").first { $0.hasPrefix("links=") }.flatMap { Int($0.dropFirst(6)) }
    if floorLinks != counts.links { die("W1: sandnet saw \(counts.links) links, the floor \(String(describing: floorLinks))") }
    return Row(workload: "W1 scan, \(ns.links) links", unit: "ms/scan", sandnet: median(sandnet), floor: median(floorRuns),
               iproute2: median(ip), note: "sandnet \(counts); floor \(floorCounts.dropFirst(7)) (routes/neighbours: all tables and families, unfiltered)")
}

func w3Handles(_ ns: BenchNamespace, _ o: Options) throws -> Row {
    try NetlinkHandle(namespace: ns.namespace).close()   // warm-up: start the namespace thread
    let fdsBefore = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
    let sandnet = try (0..<5).map { _ -> Double in
        let t = now()
        for _ in 0..<o.cycles { try NetlinkHandle(namespace: ns.namespace).close() }
        return Double(now() - t) / Double(o.cycles)
    }
    let fdsAfter = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
    let floor = (0..<5).map { _ -> Double in
        let f = run([o.floor, "w3", ns.name, "\(o.cycles)"])
        guard f.status == 0, let line = f.stdout.split(separator: "\n").first(where: { $0.hasPrefix("total ") }),
              let total = Double(line.dropFirst(6)) else { die("floor w3 failed") }
        return total / Double(o.cycles)
    }
    return Row(workload: "W3 handle open/close ×\(o.cycles)", unit: "µs/cycle", sandnet: median(sandnet), floor: median(floor),
               iproute2: nil, note: "fds before/after \(5 * o.cycles) cycles: \(fdsBefore)/\(fdsAfter)")
}

let workloads: [(id: String, run: (BenchNamespace, Options) throws -> Row)] = [
    ("w1", w1Scan),
    ("w3", w3Handles),
    // ("w2", w2AttachDetach) and ("w4", w4Check) go here (issue 7).
]

// MARK: memory

/// Peak RSS of one W1 scan in a fresh process, sandnet and floor.
func memory(links: Int, _ o: Options) -> (sandnet: Int, floor: Int) {
    let ns = BenchNamespace(links: links)
    defer { ns.remove() }
    let me = CommandLine.arguments[0]
    let s = run([me, "--measure-memory", ns.name])
    let f = run([o.floor, "w1", ns.name, "1"])
    func kb(_ text: String) -> Int { text.split(separator: "\n").first { $0.hasPrefix("maxrss_kb ") }.flatMap { Int($0.dropFirst(10)) } ?? -1 }
    return (kb(s.stdout), kb(f.stdout))
}

// MARK: main

func parse() -> Options {
    var o = Options()
    var args = CommandLine.arguments.dropFirst()
    while let a = args.popFirst() {
        func value() -> String { guard let v = args.popFirst() else { die("\(a) needs a value") }; return v }
        switch a {
        case "--links": o.links = Int(value()) ?? o.links
        case "--runs": o.runs = Int(value()) ?? o.runs
        case "--cycles": o.cycles = Int(value()) ?? o.cycles
        case "--floor": o.floor = value()
        case "--memory-links": o.memoryLinks = value().split(separator: ",").compactMap { Int($0) }
        case "--only": o.only = Set(value().split(separator: ",").map(String.init))
        case "--measure-memory":
            // Child mode: one scan of an existing namespace, then peak RSS.
            let name = value()
            do {
                let rt = try Rtnetlink(namespace: .named(name))
                let c = try sandnetScan(rt)
                // VmHWM, not ru_maxrss: ru_maxrss survives execve and reports the parent's peak.
                let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
                let hwm = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }?.split(separator: " ").dropFirst().first ?? "-1"
                print("counts \(c)\nmaxrss_kb \(hwm)")
                exit(0)
            } catch { die("\(error)") }
        case "-h", "--help":
            print("usage: sandnet-bench [--links N] [--runs N] [--cycles N] [--floor PATH] [--memory-links 500,5000] [--only w1,w3,memory]")
            exit(0)
        default: die("unknown argument \(a)")
        }
    }
    return o
}

let options = parse()
guard getuid() == 0 else { die("run as root: the benchmark creates network namespaces") }
guard FileManager.default.isExecutableFile(atPath: options.floor) else { die("no floor binary at \(options.floor): run scripts/bench.sh") }

var rows: [Row] = []
let ns = BenchNamespace(links: options.links)
for w in workloads where options.only.isEmpty || options.only.contains(w.id) {
    do { rows.append(try w.run(ns, options)) } catch { ns.remove(); die("\(w.id): \(error)") }
}
ns.remove()

func ms(_ ns: Double?, _ unit: String) -> String {
    guard let ns, !ns.isNaN else { return "-" }
    return unit.hasPrefix("µs") ? String(format: "%.1f", ns / 1e3) : String(format: "%.2f", ns / 1e6)
}
func ratio(_ a: Double, _ b: Double?) -> String { b.map { String(format: "%.2f×", a / $0) } ?? "-" }

print("| workload | unit | sandnet | floor (libmnl) | iproute2 | sandnet/floor | sandnet/iproute2 |")
print("|---|---|---|---|---|---|---|")
for r in rows {
    print("| \(r.workload) | \(r.unit) | \(ms(r.sandnet, r.unit)) | \(ms(r.floor, r.unit)) | \(ms(r.iproute2, r.unit)) | \(ratio(r.sandnet, r.floor)) | \(ratio(r.sandnet, r.iproute2)) |")
}
if options.only.isEmpty || options.only.contains("memory") {
    print("")
    print("| W1 peak memory (VmHWM of a fresh process doing one scan) | sandnet | floor |")
    print("|---|---|---|")
    for n in options.memoryLinks {
        let m = memory(links: n, options)
        print("| \(n) links | \(m.sandnet / 1024) MB | \(m.floor / 1024) MB |")
    }
}
print("")
for r in rows where !r.note.isEmpty { print("- \(r.workload): \(r.note)") }
print("- medians over \(options.runs) runs (W1; iproute2 \(max(5, options.runs / 3)) runs, each a new `ip -batch` process) and 5 batches of \(options.cycles) cycles (W3)")
