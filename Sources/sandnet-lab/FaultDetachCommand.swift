import ArgumentParser
import Foundation
import SandboxNetwork
import SandnetCLI
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// `sandnet-lab fault-detach`: `sandnet detach` that kills or stops itself right after
/// its Nth undo kernel change, so tests can prove `gc` finishes any interrupted detach.
struct FaultDetachCommand: ParsableCommand, LoggingCommand {
    static let configuration = CommandConfiguration(
        commandName: "fault-detach",
        abstract: "Run `sandnet detach`, SIGKILLing (--kill-after) or SIGSTOPping (--stop-after) itself after its Nth undo kernel change.",
        discussion: "Takes every option of `sandnet detach`. A stopped detach carries on when sent SIGCONT. "
            + "A detach that makes fewer changes finishes and says how many it made on stderr.")

    @Option(name: .customLong("kill-after"), help: "SIGKILL the process right after this undo kernel change (1 = the first).")
    var killAfter: Int?
    @Option(name: .customLong("stop-after"), help: "SIGSTOP the process right after this undo kernel change.")
    var stopAfter: Int?
    @OptionGroup var detach: DetachOptions
    var logSettings: LogSettings { detach.logSettings }

    func validate() throws {
        guard killAfter != nil || stopAfter != nil else { throw ValidationError("give --kill-after N or --stop-after N") }
        for n in [killAfter, stopAfter].compactMap({ $0 }) where n < 1 {
            throw ValidationError("kernel changes are counted from 1, not \(n)")
        }
    }

    func run() throws {
        let (kill, stop) = (killAfter, stopAfter)
        let made = ChangeCount()
        try detach.run(afterKernelChange: { changes in
            made.value.withLock { $0 = changes }
            if changes == kill { Glibc.kill(getpid(), SIGKILL) }
            if changes == stop { raise(SIGSTOP) }
        })
        FileHandle.standardError.write(Data("fault-detach: detach finished after \(made.value.withLock { $0 }) undo kernel changes\n".utf8))
    }
}

/// The undo kernel changes a fault-detach has seen, shared with its hook.
final class ChangeCount: Sendable {
    let value = Mutex(0)
}
