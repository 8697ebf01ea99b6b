import Foundation
import ProcessRunner

/// What every workload gets: options, the floor binary, and where to log progress.
struct Options {
    var links = 500
    var runs = 30
    var cycles = 2_000
    var endpoints = 100
    var attachRuns = 10
    var detachSizes = [1, 10, 100]
    var memoryLinks = [500, 2_000, 5_000]
    var checkRuns = 5
    var floor = ".build-bench/floor"
    /// The Go peer (benchmarks/go, vishvananda/netlink); its column stays empty without it.
    var go: String?
    /// W1, W2 attach and W3 again with one core kept busy by another process.
    var contention = true
    var contentionRuns = 10
    var contentionAttachRuns = 10
    /// W2 attach at these endpoint counts (time per endpoint, peak memory of one process).
    var scaleEndpoints = [10, 50, 100]
    var scaleRuns = 10
    var scaleAttachRuns = 3
    /// `--profile FILE`: profile sandnet's side of each chosen workload instead of running the suite.
    var profile: String?
    var profileSeconds = 10
    var only: Set<String> = []
    var quick = false

    /// "memory" is the old name of "scale".
    func wants(_ id: String) -> Bool { only.isEmpty || only.contains(id) || (id == "scale" && only.contains("memory")) }
}

/// Wall and CPU time of one measurement in nanoseconds (CPU: user + system time of every
/// thread of the process doing the work, from getrusage), or a size (then `cpu` is nan).
struct Sample {
    var wall: Double
    var cpu: Double = .nan

    static func / (s: Sample, n: Double) -> Sample { Sample(wall: s.wall / n, cpu: s.cpu / n) }
    static func + (a: Sample, b: Sample) -> Sample { Sample(wall: a.wall + b.wall, cpu: a.cpu + b.cpu) }
    static let zero = Sample(wall: 0, cpu: 0)
}

/// One line of the result table. Figures are nanoseconds (or bytes) per `unit`.
struct Row {
    var workload: String
    var unit: String
    var sandnet: Sample
    var floor: Sample?
    var go: Sample? = nil
    var iproute2: Sample?
    /// e.g. "≤1.3× floor"; `met` says whether the measurement meets it.
    var target: String = ""
    var met: Bool? = nil
    var note: String = ""
}

func die(_ message: String) -> Never {
    FileHandle.standardError.write(Data("sandnet-bench: \(message)\n".utf8))
    Namespaces.removeAll() // a failed check must not leave its namespaces behind
    exit(1)
}

func log(_ message: String) { FileHandle.standardError.write(Data("  \(message)\n".utf8)) }

func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

/// Nanoseconds `body` took.
func timed(_ body: () throws -> Void) rethrows -> Double {
    let t = now()
    try body()
    return Double(now() - t)
}

/// User + system CPU nanoseconds of this process (`RUSAGE_SELF`, every thread) or of its
/// terminated and waited-for children (`RUSAGE_CHILDREN`).
func cpuTime(children: Bool = false) -> Double {
    var ru = rusage()
    getrusage(__rusage_who_t(truncatingIfNeeded: (children ? RUSAGE_CHILDREN : RUSAGE_SELF).rawValue), &ru)
    func ns(_ t: timeval) -> Double { Double(t.tv_sec) * 1e9 + Double(t.tv_usec) * 1e3 }
    return ns(ru.ru_utime) + ns(ru.ru_stime)
}

/// Wall and CPU time of `body`, done in this process.
func measured(_ body: () throws -> Void) rethrows -> Sample {
    let c = cpuTime()
    let wall = try timed(body)
    return Sample(wall: wall, cpu: cpuTime() - c)
}

/// Wall time of `body` and the CPU time of the child processes it ran (and waited for).
func measuredChildren(_ body: () throws -> Void) rethrows -> Sample {
    let c = cpuTime(children: true)
    let wall = try timed(body)
    return Sample(wall: wall, cpu: cpuTime(children: true) - c)
}

/// Wall and CPU medians, each on its own.
func median(_ xs: [Sample]) -> Sample { Sample(wall: median(xs.map(\.wall)), cpu: median(xs.map(\.cpu))) }

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    if s.isEmpty { return .nan }
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// Runs a program (looked up in PATH), feeding `stdin`; returns its exit status and stdout.
/// Through ProcessRunner: posix_spawn and one poll loop on this thread, no helper threads
/// per child, so timing thousands of `ip`/`tc` runs measures them, not the runner
/// (Foundation's Process was seen to hang after a few thousand children on Linux).
@discardableResult
func run(_ argv: [String], stdin: String? = nil, check: Bool = true) -> (status: Int32, stdout: String) {
    let r: ProcessOutcome
    do {
        r = try ProcessRunner.run(argv, input: stdin.map { Array($0.utf8) }, timeout: .seconds(600))
    } catch {
        die("\(error)")
    }
    let status = r.termination.shellStatus
    if check && status != 0 { die("\(argv.prefix(6).joined(separator: " ")) \(r.termination)") }
    return (status, r.stdoutText)
}

/// `key value` lines printed by the floor.
func field(_ text: String, _ key: String) -> String? {
    text.split(separator: "\n").first { $0.hasPrefix(key + " ") }.map { String($0.dropFirst(key.count + 1)) }
}
func number(_ text: String, _ key: String) -> Double {
    guard let v = field(text, key).flatMap(Double.init) else { die("no \(key) in floor output: \(text)") }
    return v
}

/// A "key WALL CPU" line printed by the floor or the Go peer.
func sample(_ text: String, _ key: String) -> Sample {
    let parts = (field(text, key) ?? "").split(separator: " ").compactMap { Double($0) }
    guard parts.count == 2 else { die("no \(key) WALL CPU in output: \(text)") }
    return Sample(wall: parts[0], cpu: parts[1])
}

/// Every "run WALL CPU" line.
func runSamples(_ text: String) -> [Sample] {
    text.split(separator: "\n").filter { $0.hasPrefix("run ") }.map { line in
        let parts = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard parts.count == 2 else { die("bad run line: \(line)") }
        return Sample(wall: parts[0], cpu: parts[1])
    }
}

/// JSON array printed by `ip -j` / `tc -j`.
func jsonArray(_ text: String) -> [[String: Any]] {
    guard let data = text.data(using: .utf8), !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty,
        let a = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]]
    else { return [] }
    return a
}
