import Foundation
import NetlinkSocket
import ProcessRunner

/// W3: open a namespace-bound handle (a NETLINK_ROUTE socket made on a namespace thread)
/// and close it, `cycles` times; wall and CPU time, then the same with one core kept busy
/// by another process, then the first handle of a fresh process.
func w3Handles(_ o: Options) throws -> [Row] {
    let ns = Namespaces.create("handles")
    defer { Namespaces.remove(ns) }
    try NetlinkHandle(namespace: .named(ns)).close() // warm-up: start the namespace thread
    let fdsBefore = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
    let quiet = try w3Batches(o, ns)
    let fdsAfter = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
    if fdsAfter > fdsBefore { die("W3: \(fdsAfter - fdsBefore) descriptors leaked over \(quiet.batches * o.cycles) cycles") }
    let busy = try withOneCoreBusy { try w3Batches(o, ns) }
    let first = firstHandle(o, ns)
    let batches = "medians of \(quiet.batches) batches of \(o.cycles) cycles, sandnet and floor alternating"
    return [
        Row(
            workload: "W3 handle open+close", unit: "µs/cycle", sandnet: quiet.wall, floor: quiet.floorWall, iproute2: nil,
            target: "≤1.2× floor", met: quiet.wall / quiet.floorWall <= 1.2,
            note: "\(batches); descriptors before/after: \(fdsBefore)/\(fdsAfter)"),
        Row(
            workload: "W3 handle open+close, CPU time", unit: "µs/cycle", sandnet: quiet.cpu, floor: quiet.floorCPU, iproute2: nil,
            target: "≤1.5× floor", met: quiet.cpu / quiet.floorCPU <= 1.5, note: "user+system of every thread of the process"),
        Row(
            workload: "W3 handle open+close, one core busy", unit: "µs/cycle", sandnet: busy.wall, floor: busy.floorWall, iproute2: nil,
            target: "≤1.5× floor", met: busy.wall / busy.floorWall <= 1.5,
            note: "a spinning shell pinned to the last CPU; CPU time sandnet \(micro(busy.cpu)), floor \(micro(busy.floorCPU)) µs/cycle"),
        Row(
            workload: "W3 first handle in a fresh process", unit: "µs", sandnet: first.sandnet, floor: first.floor, iproute2: nil,
            note:
                "open+close of the first handle after exec (thread start included), medians of \(first.runs) processes; sandnet's page faults in it: \(Int(first.faults))"
        )
    ]
}

private func micro(_ ns: Double) -> String { String(format: "%.1f", ns / 1e3) }

/// Median nanoseconds per cycle over alternating batches of sandnet and the floor.
private func w3Batches(_ o: Options, _ ns: String) throws -> (
    batches: Int, wall: Double, cpu: Double, floorWall: Double, floorCPU: Double
) {
    let batches = 5
    var wall: [Double] = []
    var cpu: [Double] = []
    var floorWall: [Double] = []
    var floorCPU: [Double] = []
    for _ in 0..<batches {
        let c = processCPU()
        wall.append(try timed { for _ in 0..<o.cycles { try NetlinkHandle(namespace: .named(ns)).close() } } / Double(o.cycles))
        cpu.append((processCPU() - c) / Double(o.cycles))
        let f = run([o.floor, "w3", ns, "\(o.cycles)"]).stdout
        floorWall.append(number(f, "total") / Double(o.cycles))
        floorCPU.append(number(f, "cpu") / Double(o.cycles))
    }
    return (batches, median(wall), median(cpu), median(floorWall), median(floorCPU))
}

/// CPU nanoseconds (user+system) of every thread of this process.
private func processCPU() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
    return Double(t.tv_sec) * 1e9 + Double(t.tv_nsec)
}

/// Runs `body` while a shell spins on the last CPU, as a loaded node's other work would.
private func withOneCoreBusy<T>(_ body: () throws -> T) throws -> T {
    let last = ProcessInfo.processInfo.activeProcessorCount - 1
    let spinner = try ProcessRunner.spawn(["taskset", "-c", "\(last)", "sh", "-c", "while :; do :; done"])
    defer { _ = spinner.kill() }
    usleep(100_000) // let it take the core
    return try body()
}

/// The first handle of a fresh process: this binary run with `--first-handle NS`, and the
/// floor's one-cycle W3 (its first setns and socket, also in a fresh process).
private func firstHandle(_ o: Options, _ ns: String) -> (runs: Int, sandnet: Double, floor: Double, faults: Double) {
    let runs = 10
    var sandnet: [Double] = []
    var floor: [Double] = []
    var faults: [Double] = []
    for _ in 0..<runs {
        let child = run([CommandLine.arguments[0], "--first-handle", ns]).stdout
        sandnet.append(number(child, "total"))
        faults.append(number(child, "faults"))
        floor.append(number(run([o.floor, "w3", ns, "1"]).stdout, "total"))
    }
    return (runs, median(sandnet), median(floor), median(faults))
}

/// `--first-handle NS`: times this process's first namespace-bound handle and exits.
func firstHandleChild(_ ns: String) -> Never {
    do {
        var before = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &before)
        let t = try timed { try NetlinkHandle(namespace: .named(ns)).close() }
        var after = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &after)
        print("total \(Int(t))\nfaults \(after.ru_minflt - before.ru_minflt)")
        exit(0)
    } catch { die("\(error)") }
}
