// sandnet-bench: sandnet next to the floor (benchmarks/floor/floor.c on libmnl), the Go
// peer (benchmarks/go on vishvananda/netlink, as Kata uses it) and iproute2, on the same
// throwaway namespaces, in one run; wall and CPU time for every side. scripts/bench.sh builds both
// (release) and runs this; BENCHMARKS.md carries the latest table.
import Foundation

func parse() -> Options {
    var o = Options()
    var args = CommandLine.arguments.dropFirst()
    while let a = args.popFirst() {
        func value() -> String {
            guard let v = args.popFirst() else { die("\(a) needs a value") }
            return v
        }
        func list() -> [Int] { value().split(separator: ",").compactMap { Int($0) } }
        switch a {
        case "--links": o.links = Int(value()) ?? o.links
        case "--runs": o.runs = Int(value()) ?? o.runs
        case "--cycles": o.cycles = Int(value()) ?? o.cycles
        case "--endpoints": o.endpoints = Int(value()) ?? o.endpoints
        case "--attach-runs": o.attachRuns = Int(value()) ?? o.attachRuns
        case "--detach-sizes": o.detachSizes = list()
        case "--memory-links": o.memoryLinks = list()
        case "--scale-endpoints": o.scaleEndpoints = list()
        case "--floor": o.floor = value()
        case "--go": o.go = value()
        case "--no-contention": o.contention = false
        case "--profile": o.profile = value()
        case "--profile-seconds": o.profileSeconds = Int(value()) ?? o.profileSeconds
        case "--only": o.only = Set(value().split(separator: ",").map(String.init))
        case "--quick":
            o.quick = true
            o.runs = 5
            o.cycles = 200
            o.endpoints = 10
            o.attachRuns = 1
            o.detachSizes = [1, 10]
            o.memoryLinks = [200, 1_000]
            o.checkRuns = 2
            o.contentionRuns = 5
            o.contentionAttachRuns = 1
            o.scaleEndpoints = [10, 20]
            o.scaleRuns = 3
            o.scaleAttachRuns = 1
            o.profileSeconds = 3
        case "--measure-memory": measureMemoryChild(value())
        case "--first-handle": firstHandleChild(value())
        case "--handle-cycles": handleCyclesChild(value(), value())
        case "--measure-attach": measureAttachChild(value(), value())
        case "-h", "--help":
            print(
                """
                usage: sandnet-bench [--only w1,w2,w3,w4,exec,scale] [--quick] [--links 500] [--runs 30] [--cycles 2000]
                                     [--endpoints 100] [--attach-runs 10] [--detach-sizes 1,10,100]
                                     [--memory-links 500,2000,5000] [--scale-endpoints 10,50,100]
                                     [--floor PATH] [--go PATH] [--no-contention]
                                     [--profile FILE [--profile-seconds 10]]
                  --go PATH       the Go peer (benchmarks/go); without it the Go column stays empty
                  --no-contention skip the runs with one core kept busy by another process
                  --profile FILE  instead of the suite: perf record -g of sandnet's side of each
                                  workload chosen with --only, summaries (markdown) to FILE
                  --handle-cycles NS N   only N W3 cycles in namespace NS, printing
                                  "total WALL_NS CPU_NS" (for perf stat of sandnet's side alone)
                """)
            exit(0)
        default: die("unknown argument \(a)")
        }
    }
    return o
}

let options = parse()
guard getuid() == 0 else { die("run as root: the benchmark creates network namespaces") }
guard FileManager.default.isExecutableFile(atPath: options.floor) else { die("no floor binary at \(options.floor): run scripts/bench.sh") }
if let go = options.go, !FileManager.default.isExecutableFile(atPath: go) { die("no Go peer at \(go): run scripts/bench.sh") }
signal(SIGINT) { _ in
    Namespaces.removeAll()
    exit(130)
}

if let file = options.profile {
    do { try profile(options, to: file) } catch {
        Namespaces.removeAll()
        die("profile: \(error)")
    }
    Namespaces.removeAll()
    exit(0)
}

let workloads: [(id: String, run: (Options) throws -> [Row])] = [
    ("w1", w1Scan), ("w2", w2AttachDetach), ("w3", w3Handles), ("w4", w4Check), ("exec", execToExit), ("scale", scale)
]
var rows: [Row] = []
let started = now()
for w in workloads where options.wants(w.id) {
    FileHandle.standardError.write(Data("\(w.id)...\n".utf8))
    let t = now()
    do { rows += try w.run(options) } catch {
        Namespaces.removeAll()
        die("\(w.id): \(error)")
    }
    log("\(w.id) took \(String(format: "%.0f", Double(now() - t) / 1e9)) s")
}
Namespaces.removeAll()

func figure(_ v: Double, _ unit: String) -> String {
    if v.isNaN { return "-" }
    if unit.hasPrefix("µs") { return String(format: "%.1f", v / 1e3) }
    if unit == "MB" { return String(format: "%.1f", v / 1_048_576) }
    return String(format: v / 1e6 >= 100 ? "%.0f" : "%.2f", v / 1e6)
}
/// "wall / CPU" (sizes: one figure).
func figure(_ s: Sample?, _ unit: String) -> String {
    guard let s, !s.wall.isNaN else { return "-" }
    return s.cpu.isNaN ? figure(s.wall, unit) : "\(figure(s.wall, unit)) / \(figure(s.cpu, unit))"
}
func ratio(_ a: Sample, _ b: Sample?) -> String {
    guard let b, !b.wall.isNaN else { return "-" }
    let wall = String(format: "%.2f×", a.wall / b.wall)
    return a.cpu.isNaN || b.cpu.isNaN ? wall : "\(wall) / \(String(format: "%.2f×", a.cpu / b.cpu))"
}

print("Times are wall / CPU (user + system, every thread of the process doing the work); ratios likewise.")
print("")
print("| workload | unit | sandnet | floor (libmnl) | Go (vishvananda) | iproute2 | sandnet/floor | sandnet/Go | target |")
print("|---|---|---|---|---|---|---|---|---|")
for r in rows {
    let target = r.target.isEmpty ? "" : "\(r.target) \(r.met == true ? "✓ met" : "✗ missed")"
    print(
        "| \(r.workload) | \(r.unit) | \(figure(r.sandnet, r.unit)) | \(figure(r.floor, r.unit)) | \(figure(r.go, r.unit)) | \(figure(r.iproute2, r.unit)) | \(ratio(r.sandnet, r.floor)) | \(ratio(r.sandnet, r.go)) | \(target) |"
    )
}
print("")
for r in rows where !r.note.isEmpty { print("- \(r.workload): \(r.note)") }
let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
print(
    "- whole run \(String(format: "%.0f", Double(now() - started) / 1e9)) s on \(ProcessInfo.processInfo.activeProcessorCount) CPUs, load average at the end \(load)"
)
