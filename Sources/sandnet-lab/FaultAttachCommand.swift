import ArgumentParser
import SandboxNetwork
import SandnetCLI

#if canImport(Glibc)
    import Glibc
#endif

/// `sandnet-lab fault-attach`: `sandnet attach` that kills or stops itself right after
/// its Nth kernel change, so tests can prove `gc` and rollback undo any prefix of an attach.
struct FaultAttachCommand: ParsableCommand, LoggingCommand {
    static let configuration = CommandConfiguration(
        commandName: "fault-attach",
        abstract: "Run `sandnet attach`, SIGKILLing (--kill-after) or SIGSTOPping (--stop-after) itself after its Nth kernel change.",
        discussion: "Takes every option of `sandnet attach`. A stopped attach carries on when sent SIGCONT.")

    @Option(name: .customLong("kill-after"), help: "SIGKILL the process right after this kernel change (1 = the first).")
    var killAfter: Int?
    @Option(name: .customLong("stop-after"), help: "SIGSTOP the process right after this kernel change.")
    var stopAfter: Int?
    @OptionGroup var attach: AttachOptions
    var logSettings: LogSettings { attach.logSettings }

    func validate() throws {
        guard killAfter != nil || stopAfter != nil else { throw ValidationError("give --kill-after N or --stop-after N") }
        for n in [killAfter, stopAfter].compactMap({ $0 }) where n < 1 {
            throw ValidationError("kernel changes are counted from 1, not \(n)")
        }
    }

    func run() throws {
        let (kill, stop) = (killAfter, stopAfter)
        try attach.run(afterKernelChange: { changes in
            if changes == kill { Glibc.kill(getpid(), SIGKILL) }
            if changes == stop { raise(SIGSTOP) }
        })
    }
}
