import Foundation

/// Runs `body` while another process keeps one core busy: the floor's `spin` mode, pinned to
/// the last CPU, started before and killed after (it also dies with this process).
func withBusyCore<T>(_ o: Options, _ body: () throws -> T) rethrows -> T {
    let argv = [o.floor, "spin", "\(busyCPU)"]
    var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
    defer { for a in cArgs { free(a) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, o.floor, nil, nil, &cArgs, environ)
    if rc != 0 { die("posix_spawn \(o.floor) spin: \(String(cString: strerror(rc)))") }
    defer {
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }
    usleep(200_000) // spinning before the first measurement
    return try body()
}

let busyCPU = max(0, ProcessInfo.processInfo.activeProcessorCount - 1)
let busyNote = "another process spinning on CPU \(busyCPU) (of \(ProcessInfo.processInfo.activeProcessorCount)) throughout"
