// sandnet-bench: sandnet next to the floor (benchmarks/floor/floor.c on libmnl) and
// iproute2, on the same throwaway namespaces, in one run. scripts/bench.sh builds both
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
        case "--floor": o.floor = value()
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
        case "--measure-memory": measureMemoryChild(value())
        case "--first-handle": firstHandleChild(value())
        case "-h", "--help":
            print(
                """
                usage: sandnet-bench [--only w1,w2,w3,w4,memory] [--quick] [--links 500] [--runs 30] [--cycles 2000]
                                     [--endpoints 100] [--attach-runs 5] [--detach-sizes 1,10,100]
                                     [--memory-links 500,2000,5000] [--floor PATH]
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
signal(SIGINT) { _ in
    Namespaces.removeAll()
    exit(130)
}

let workloads: [(id: String, run: (Options) throws -> [Row])] = [
    ("w1", w1Scan), ("w2", w2AttachDetach), ("w3", w3Handles), ("w4", w4Check), ("memory", memoryGrowth)
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

func figure(_ v: Double?, _ unit: String) -> String {
    guard let v, !v.isNaN else { return "-" }
    if unit.hasPrefix("µs") { return String(format: "%.1f", v / 1e3) }
    if unit == "MB" { return String(format: "%.1f", v / 1_048_576) }
    return String(format: v / 1e6 >= 100 ? "%.0f" : "%.2f", v / 1e6)
}
func ratio(_ a: Double, _ b: Double?) -> String { b.map { String(format: "%.2f×", a / $0) } ?? "-" }

print("| workload | unit | sandnet | floor (libmnl) | iproute2 | sandnet/floor | sandnet/iproute2 | target |")
print("|---|---|---|---|---|---|---|---|")
for r in rows {
    let target = r.target.isEmpty ? "" : "\(r.target) \(r.met == true ? "✓ met" : "✗ missed")"
    print(
        "| \(r.workload) | \(r.unit) | \(figure(r.sandnet, r.unit)) | \(figure(r.floor, r.unit)) | \(figure(r.iproute2, r.unit)) | \(ratio(r.sandnet, r.floor)) | \(ratio(r.sandnet, r.iproute2)) | \(target) |"
    )
}
print("")
for r in rows where !r.note.isEmpty { print("- \(r.workload): \(r.note)") }
let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
print(
    "- whole run \(String(format: "%.0f", Double(now() - started) / 1e9)) s on \(ProcessInfo.processInfo.activeProcessorCount) CPUs, load average at the end \(load)"
)
