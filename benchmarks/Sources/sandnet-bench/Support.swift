import Foundation

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
    FileHandle.standardError.write(Data("sandnet-bench: \(message)\n".utf8)); exit(1)
}

func log(_ message: String) { FileHandle.standardError.write(Data("  \(message)\n".utf8)) }

func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

/// Nanoseconds `body` took.
func timed(_ body: () throws -> Void) rethrows -> Double {
    let t = now(); try body(); return Double(now() - t)
}

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    if s.isEmpty { return .nan }
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// Runs a program (looked up in PATH), feeding `stdin`; stdout is returned unless `output` is false.
/// posix_spawn and waitpid, not Foundation's Process: its waitUntilExit was seen to hang
/// after a few thousand children on Linux.
@discardableResult
func run(_ argv: [String], stdin: String? = nil, output: Bool = true, check: Bool = true) -> (status: Int32, stdout: String) {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    // stdin from an unlinked temporary file: no pipe to deadlock on while the child writes.
    var inputFD: Int32 = -1
    if let stdin {
        var template = Array("/dev/shm/snbench-input-XXXXXX".utf8CString)
        inputFD = mkstemp(&template)
        if inputFD < 0 { die("mkstemp: \(String(cString: strerror(errno)))") }
        unlink(String(cString: template))
        let bytes = Array(stdin.utf8)
        if write(inputFD, bytes, bytes.count) != bytes.count { die("writing stdin for \(argv[0]) failed") }
        lseek(inputFD, 0, SEEK_SET)
        posix_spawn_file_actions_adddup2(&actions, inputFD, 0)
    } else {
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    }
    var pipeFDs: [Int32] = [-1, -1]
    if output {
        if pipe(&pipeFDs) != 0 { die("pipe: \(String(cString: strerror(errno)))") }
        for fd in pipeFDs { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }   // only the dup2'd copy goes to the child
        posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], 1)
    } else {
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    }
    var pid: pid_t = 0
    let cArgs = argv.map { strdup($0) } + [nil]
    defer { for a in cArgs { free(a) } }
    let rc = posix_spawnp(&pid, argv[0], &actions, nil, cArgs, environ)
    if inputFD >= 0 { close(inputFD) }
    if output { close(pipeFDs[1]) }
    if rc != 0 { die("cannot run \(argv[0]): \(String(cString: strerror(rc)))") }
    var data: [UInt8] = []
    if output {
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = read(pipeFDs[0], &chunk, chunk.count)
            if n > 0 { data += chunk[0..<n] } else if n < 0 && errno == EINTR { continue } else { break }
        }
        close(pipeFDs[0])
    }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    let exitStatus: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    if check && exitStatus != 0 { die("\(argv.prefix(6).joined(separator: " ")) exited with \(exitStatus)") }
    return (exitStatus, String(decoding: data, as: UTF8.self))
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
          let a = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]] else { return [] }
    return a
}
