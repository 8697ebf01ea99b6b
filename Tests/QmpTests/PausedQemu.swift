import Foundation
import ProcessRunner
import Qmp

#if canImport(Glibc)
    import Glibc
#endif

/// A QEMU with no guest: paused before the first instruction (`-S`), no default devices,
/// a QMP socket in a private directory, and whatever `-device`s a test adds. It never runs
/// guest code, so it costs a few MB and no CPU. Killed and its directory removed on `stop`.
final class PausedQemu: Sendable {
    let directory: String
    let qmpPath: String
    let process: RunningProcess

    static func unavailableReason(_ binary: String) -> String? {
        let found = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
            .contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(binary)") }
        return found ? nil : "\(binary) is not installed: run scripts/setup.sh"
    }

    enum Machine: String, Sendable, CustomStringConvertible {
        case q35, virt
        var binary: String { self == .q35 ? "qemu-system-x86_64" : "qemu-system-aarch64" }
        var description: String { rawValue }
    }

    init(machine: Machine = .q35, devices: [String]) throws {
        directory = "/tmp/sandnet-qmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        qmpPath = "\(directory)/qmp.sock"
        var argv = [machine.binary, "-machine", machine.rawValue, "-accel", "tcg", "-nodefaults", "-display", "none", "-S", "-m", "64"]
        argv += ["-qmp", "unix:\(qmpPath),server=on,wait=off"]
        for d in devices { argv += ["-device", d] }
        process = try ProcessRunner.spawn(argv)
    }

    /// Connects once QEMU listens (bounded): QEMU creates the socket during start-up.
    func connect(within limit: Duration = .seconds(20)) throws -> QmpClient {
        let deadline = ContinuousClock.now + limit
        while true {
            let error: QmpClientError
            do {
                return try QmpClient(path: qmpPath)
            } catch let e {
                error = e
            }
            guard case .cannotConnect(_, let e) = error, e == ENOENT || e == ECONNREFUSED, ContinuousClock.now < deadline else {
                throw error
            }
            guard process.isRunning else { throw QemuGone(argv: process.argv) }
            usleep(50_000)
        }
    }

    func stop() {
        process.kill()
        try? FileManager.default.removeItem(atPath: directory)
    }

    struct QemuGone: Error, CustomStringConvertible {
        var argv: [String]
        var description: String { "QEMU exited during start-up: \(argv.joined(separator: " "))" }
    }
}
