import Foundation
import ProcessRunner

/// What every workload gets: options, the floor binary, and where to log progress.
struct Options {
    var links = 500
    var runs = 30
    var cycles = 2_000
    var endpoints = 100
    var attachRuns = 5
    var detachSizes = [1, 10, 100]
    var memoryLinks = [500, 2_000, 5_000]
    var checkRuns = 5
    var floor = ".build-bench/floor"
    var only: Set<String> = []
    var quick = false

    func wants(_ id: String) -> Bool { only.isEmpty || only.contains(id) }
}

/// One line of the result table. Figures are nanoseconds per `unit`.
struct Row {
    var workload: String
    var unit: String
    var sandnet: Double
    var floor: Double?
    var iproute2: Double?
    /// e.g. "≤1.3× floor"; `met` says whether the measurement meets it.
    var target: String = ""
    var met: Bool? = nil
    var note: String = ""
}

func die(_ message: String) -> Never {
    FileHandle.standardError.write(Data("sandnet-bench: \(message)\n".utf8))
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

/// JSON array printed by `ip -j` / `tc -j`.
func jsonArray(_ text: String) -> [[String: Any]] {
    guard let data = text.data(using: .utf8), !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty,
        let a = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]]
    else { return [] }
    return a
}
