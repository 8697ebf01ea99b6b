import Foundation
import ProcessRunner
import TestSupport

/// A built executable of this package next to the test bundle.
func builtExecutable(_ name: String) -> String {
    let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for candidate in [dir, dir.deletingLastPathComponent()] {
        let p = candidate.appendingPathComponent(name).path
        if FileManager.default.isExecutableFile(atPath: p) { return p }
    }
    return dir.appendingPathComponent(name).path
}

/// The built `sandnet-lab` binary: `fault-attach` is `sandnet attach` that kills or
/// stops itself after its Nth kernel change (the product binary has no such switch).
enum LabBinary {
    static let path = builtExecutable("sandnet-lab")
    static var exists: Bool { FileManager.default.isExecutableFile(atPath: path) }
    static func run(_ args: [String]) throws -> SandnetBinary.Outcome { try SandnetBinary.run(args, executable: path) }
}

/// The built `sandnet` binary next to the test bundle, run as a separate process so it
/// can be killed, stopped and exec'd like the real thing.
enum SandnetBinary {
    static let path = builtExecutable("sandnet")
    static var exists: Bool { FileManager.default.isExecutableFile(atPath: path) }

    struct Outcome {
        var status: Int32
        var killedBySignal: Bool
        var stdout: String
        var stderr: String
    }

    /// Runs sandnet (or `executable`) with `args` and extra environment; waits (bounded)
    /// for it to end. `status` is the signal number when a signal killed it.
    static func run(
        _ args: [String], environment: [String: String] = [:], executable: String = path,
        timeout: Duration = .seconds(120)
    ) throws -> Outcome {
        let r = try ProcessRunner.run([executable] + args, environment: .adding(environment), timeout: timeout)
        return Outcome(status: r.status ?? r.signal ?? -1, killedBySignal: r.signal != nil, stdout: r.stdoutText, stderr: r.stderrText)
    }
}
