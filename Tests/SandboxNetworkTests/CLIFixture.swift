import Foundation
import TestSupport

/// The built `sandnet` binary next to the test bundle, run as a separate process so it
/// can be killed, stopped and exec'd like the real thing.
enum SandnetBinary {
    static let path: String = {
        let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [dir, dir.deletingLastPathComponent()] {
            let p = candidate.appendingPathComponent("sandnet").path
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return "/work/main/.build/debug/sandnet"
    }()
    static var exists: Bool { FileManager.default.isExecutableFile(atPath: path) }

    struct Outcome { var status: Int32; var killedBySignal: Bool; var stdout: String; var stderr: String }

    /// Runs sandnet with `args` and extra environment; waits for it to end (killed and
    /// thrown past `timeout` seconds).
    static func run(_ args: [String], environment: [String: String] = [:], timeout: TimeInterval = 120) throws -> Outcome {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let r = try TestEnvironment.collect(p, timeout: timeout)
        return Outcome(status: r.status, killedBySignal: r.killedBySignal, stdout: r.stdout, stderr: r.stderr)
    }
}
