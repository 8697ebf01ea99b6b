import Foundation
import NetlinkSocket
import Rtnetlink

/// `--profile FILE`: for each chosen workload, sandnet's side alone runs in a loop in this
/// process while `perf record -g -p` samples it; the summary (share of samples by binary:
/// kernel, sandnet's code, the Swift runtime, libc; top symbols) goes to FILE as markdown.
func profile(_ o: Options, to file: String) throws {
    var out = "## Profiles (perf record -g, sandnet's side of each workload, \(o.profileSeconds) s each)\n\n"
    if o.wants("w1") {
        let ns = scanNamespace(links: o.links, floor: o.floor)
        defer { Namespaces.remove(ns) }
        let rt = try Rtnetlink(namespace: .named(ns))
        defer { rt.close() }
        _ = try sandnetScan(rt)
        out += try sampled(o, "W1 scan, \(o.links) veth ends", unit: "scans") { _ = try sandnetScan(rt) }
        out += sampledFloor(o, "W1 scan, \(o.links) veth ends: the floor, for comparison", [o.floor, "w1", ns, "\(20 * o.profileSeconds)"])
    }
    if o.wants("w2") {
        let w = W2(o: o)
        defer { try? FileManager.default.removeItem(atPath: w.store.directory) }
        let pods = Pods(count: min(o.endpoints, 10), tag: "prof")
        defer { pods.remove() }
        out += try sampled(o, "W2 tcfilter attach + detach (sandnet attach engine), \(pods.count) endpoints", unit: "attach+detach cycles")
        {
            _ = try pods.each { try w.attach($0, .tcfilter) }
            _ = try pods.each { try w.detach($0) }
        }
        pods.expect({ $0.bare }, "after the profiled attach/detach cycles")
    }
    if o.wants("w3") {
        let ns = Namespaces.create("prof-handles")
        defer { Namespaces.remove(ns) }
        try NetlinkHandle(namespace: .named(ns)).close()
        out += try sampled(o, "W3 handle open+close", unit: "cycles") { try NetlinkHandle(namespace: .named(ns)).close() }
        out += sampledFloor(o, "W3 handle open+close: the floor, for comparison", [o.floor, "w3", ns, "\(10_000 * o.profileSeconds)"])
    }
    try out.write(toFile: file, atomically: true, encoding: .utf8)
    print(out)
}

/// Runs `body` until a `perf record -g -p <this process>` of `profileSeconds` ends, then
/// summarises the samples.
private func sampled(_ o: Options, _ title: String, unit: String, _ body: () throws -> Void) throws -> String {
    let data = "/tmp/\(Namespaces.prefix)-perf.data"
    defer { unlink(data) }
    let argv = ["perf", "record", "-g", "-F", "1999", "-p", "\(getpid())", "-o", data, "--", "sleep", "\(o.profileSeconds)"]
    var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
    defer { for a in cArgs { free(a) } }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    var pid: pid_t = 0
    let rc = posix_spawnp(&pid, "perf", &actions, nil, &cArgs, environ)
    if rc != 0 { die("perf: \(String(cString: strerror(rc))) (install linux-perf)") }
    usleep(300_000) // perf attached before the loop starts
    var iterations = 0
    var status: Int32 = 0
    let t = now()
    while waitpid(pid, &status, WNOHANG) == 0 {
        try body()
        iterations += 1
    }
    let seconds = Double(now() - t) / 1e9
    guard status == 0 else { die("perf record exited with status \(status)") }
    let each = String(format: "%.2f", seconds * 1e3 / Double(max(1, iterations)))
    return summary(data, title, "\(iterations) \(unit) in \(String(format: "%.1f", seconds)) s (\(each) ms each, under perf)")
}

/// A floor process run under `perf record -g` from start to end.
private func sampledFloor(_ o: Options, _ title: String, _ argv: [String]) -> String {
    let data = "/tmp/\(Namespaces.prefix)-perf-floor.data"
    defer { unlink(data) }
    let t = timed { run(["perf", "record", "-g", "-F", "1999", "-o", data, "--"] + argv) }
    return summary(data, title, "floor \(argv.dropFirst().joined(separator: " ")) in \(String(format: "%.1f", t / 1e9)) s (under perf)")
}

/// Share of samples by binary and the top symbols of one perf.data.
private func summary(_ data: String, _ title: String, _ what: String) -> String {
    func report(_ sort: String) -> [(share: Double, name: String)] {
        run(["perf", "report", "-i", data, "--stdio", "--no-children", "-g", "none", "--percent-limit", "0.5", "--sort", sort]).stdout
            .split(separator: "\n").compactMap { line in
                let t = line.trimmingCharacters(in: .whitespaces)
                guard !t.hasPrefix("#"), let pct = t.firstIndex(of: "%"), let share = Double(t[..<pct]) else { return nil }
                return (share, t[t.index(after: pct)...].trimmingCharacters(in: .whitespaces))
            }
    }
    let samples = field(run(["perf", "report", "-i", data, "--stdio", "--no-children", "-g", "none", "--sort", "dso"]).stdout, "# Samples:")
    let byBinary = report("dso")
    let kernel = byBinary.filter { $0.name.contains("[kernel") }.reduce(0) { $0 + $1.share }
    let sandnet = byBinary.filter { $0.name.hasPrefix("sandnet") || $0.name == "floor" }.reduce(0) { $0 + $1.share }
    let swift = byBinary.filter { $0.name.contains("swift") || $0.name.contains("Foundation") || $0.name.contains("dispatch") }
        .reduce(0) { $0 + $1.share }
    let libc = byBinary.filter { $0.name.hasPrefix("libc.") || $0.name.hasPrefix("ld-linux") }.reduce(0) { $0 + $1.share }
    var s = "### \(title)\n\n"
    s += "\(what); samples: \(samples ?? "?")\n\n"
    s +=
        "- by binary: kernel \(String(format: "%.1f", kernel)) %, sandnet's code (sandnet-bench binary; for the floor: its own) \(String(format: "%.1f", sandnet)) %, Swift runtime/Foundation/dispatch \(String(format: "%.1f", swift)) %, libc \(String(format: "%.1f", libc)) %, other \(String(format: "%.1f", max(0, 100 - kernel - sandnet - swift - libc))) %\n"
    s += "- top symbols (share of all samples, self):\n"
    let top = Array(report("dso,sym").prefix(15))
    // "libswiftCore.so   [.] swift_release": the binary, then the symbol (Swift names demangled).
    let split = top.map { entry -> (dso: String, symbol: String) in
        guard let mark = entry.name.range(of: " [k] ") ?? entry.name.range(of: " [.] ") else { return (entry.name, "") }
        return (
            entry.name[..<mark.lowerBound].trimmingCharacters(in: .whitespaces),
            entry.name[mark.upperBound...].trimmingCharacters(in: .whitespaces)
        )
    }
    let demangled = run(
        ["swift", "demangle", "--simplified", "--compact"], stdin: split.map(\.symbol).joined(separator: "\n") + "\n", check: false
    )
    .stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    for (i, entry) in top.enumerated() {
        let symbol = demangled.count > i && !demangled[i].isEmpty ? demangled[i] : split[i].symbol
        s += "  - \(String(format: "%.1f", entry.share)) % `\(symbol)` (\(split[i].dso))\n"
    }
    return s + "\n"
}
